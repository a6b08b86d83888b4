"""torchvision.ops.roi_align timing on the case of benchmarks/bench_roi_align.cpp (same RoIs
from the same splitmix64 stream, 2 threads). Prints the median of `reps` runs in ms.

Run: /usr/bin/python3 benchmarks/bench_roi_align_torch.py [reps]
"""
import statistics
import sys
import time

import torch
import torchvision

torch.set_num_threads(2)
MASK = (1 << 64) - 1


def splitmix(state):
    state[0] = (state[0] + 0x9E3779B97F4A7C15) & MASK
    z = state[0]
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    z ^= z >> 31
    return (z >> 11) * 2.0 ** -53


def make_rois():
    s = [2024]
    rows = []
    for i in range(512):
        x1, y1 = splitmix(s) * 700, splitmix(s) * 700
        w, h = 16 + splitmix(s) * 384, 16 + splitmix(s) * 384
        rows.append([i % 2, x1, y1, min(x1 + w, 799), min(y1 + h, 799)])
    return torch.tensor(rows, dtype=torch.float32)


def main():
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    torch.manual_seed(1)
    x = torch.rand(2, 256, 50, 50) * 2 - 1
    rois = make_rois()
    args = dict(output_size=(7, 7), spatial_scale=1 / 16, sampling_ratio=2, aligned=True)

    def fwd():
        with torch.no_grad():
            torchvision.ops.roi_align(x, rois, **args)

    xg = x.clone().requires_grad_(True)

    def fwd_bwd():
        y = torchvision.ops.roi_align(xg, rois, **args)
        y.backward(torch.ones_like(y))
        xg.grad = None

    for name, fn in (("torch_roi_align_forward", fwd), ("torch_roi_align_forward_backward", fwd_bwd)):
        fn()
        times = []
        for _ in range(reps):
            t = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t) * 1e3)
        print(f"{name}: median {statistics.median(times):.2f} ms (min {min(times):.2f})")


if __name__ == "__main__":
    main()
