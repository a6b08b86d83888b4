#!/usr/bin/env bash
# Converts Fashion-MNIST (Debian package dataset-fashion-mnist) to LMDB, trains LeNet on the
# CPU, and scores the final weights on the 10k test images. Run from the repository root.
set -euo pipefail
CREMA=${CREMA:-build/crema}
SRC=${FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}
OUT=build/fashion_mnist
mkdir -p "$OUT"
for split in train t10k; do
  name=$([ "$split" = train ] && echo train || echo test)
  if [ ! -f "$OUT/${name}_lmdb/data.mdb" ]; then
    "$CREMA" convert --idx-images "$SRC/$split-images-idx3-ubyte.gz" \
      --idx-labels "$SRC/$split-labels-idx1-ubyte.gz" --output "$OUT/${name}_lmdb"
  fi
done
"$CREMA" train --solver models/lenet/solver.prototxt "$@"
"$CREMA" test --model models/lenet/train_val.prototxt \
  --weights "$OUT/lenet_iter_8000.caffemodel" --iterations 100 | tail -3
