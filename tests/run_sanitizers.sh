#!/usr/bin/env bash
# Builds the suite with AddressSanitizer + UndefinedBehaviorSanitizer and runs the unit tests
# (kernel bodies run on the CPU, so this checks their index math too).
set -euo pipefail
cd "$(dirname "$0")/.."
# -O1 without debug info keeps the instrumented build quick to compile and still fast to run.
# It is also CI's CPU-only configuration (CREMA_CUDA=OFF): that build needs nothing from CUDA.
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_FLAGS="-O1" -DCREMA_SANITIZE=ON \
  -DCREMA_BUILD_BENCHMARKS=OFF -DCREMA_CUDA=OFF
cmake --build build-asan -j2
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build-asan -j2 -L unit --output-on-failure
