#!/usr/bin/env bash
# Installs Crema's build and test dependencies from Debian's packages (run as root).
set -euo pipefail
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
  build-essential cmake ccache pkg-config \
  libprotobuf-dev protobuf-compiler \
  libopenblas-openmp-dev liblmdb-dev lmdb-utils zlib1g-dev libmatio-dev \
  libopencv-core-dev libopencv-imgcodecs-dev libopencv-imgproc-dev \
  libcli11-dev libgtest-dev libgmock-dev libbenchmark-dev \
  libopenmpi-dev openmpi-bin iproute2 \
  dataset-fashion-mnist > /dev/null
echo "dependencies installed"
