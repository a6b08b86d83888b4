#!/usr/bin/python3
"""Side-by-side CPU timings of Crema's research ops and PyTorch/torchvision on this machine.

Runs each case in Crema (the crema_bench Google Benchmark binary) and in PyTorch 1.13 /
torchvision 0.14 (Debian's python3-torch, python3-torchvision) with the same shapes and thread
count, interleaving the two so machine drift hits both alike, and prints the median times and
the ratio torch/crema (> 1: Crema is faster).

  /usr/bin/python3 benchmarks/compare_torch.py [--bench build/benchmarks/crema_bench]
                                                [--threads 2] [--rounds 5]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--bench", default="build/benchmarks/crema_bench")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rounds", type=int, default=5, help="interleaved rounds per case")
    p.add_argument("--filter", default="", help="only cases whose name contains this")
    return p.parse_args()


ARGS = parse_args()
# Both OpenMP and OpenBLAS read these at load time: set them before torch is imported.
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)

import torch  # noqa: E402
import torchvision  # noqa: E402
from torchvision.ops import deform_conv2d, roi_align  # noqa: E402

torch.set_num_threads(ARGS.threads)
torch.manual_seed(0)


def deform_conv_case(modulated, backward):
    n, c, h, w, cout, k = 8, 64, 56, 56, 64, 3
    x = torch.rand(n, c, h, w) * 2 - 1
    weight = (torch.rand(cout, c, k, k) * 2 - 1) * 0.1
    bias = torch.rand(cout)
    offset = (torch.rand(n, 2 * k * k, h, w) * 2 - 1) * 2
    mask = torch.rand(n, k * k, h, w) if modulated else None
    tensors = [x, weight, bias, offset] + ([mask] if modulated else [])
    for t in tensors:
        t.requires_grad_(backward)

    def run():
        y = deform_conv2d(x, offset, weight, bias, padding=(1, 1), mask=mask)
        if backward:
            y.backward(torch.ones_like(y))
    return run


MASK64 = (1 << 64) - 1


def splitmix_rois(count=512, seed=2024):
    """The RoIs of benchmarks/bench_roi_align.cpp: the same splitmix64 stream, same boxes."""
    state = seed

    def uniform01():
        nonlocal state
        state = (state + 0x9E3779B97F4A7C15) & MASK64
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        z ^= z >> 31
        return (z >> 11) * 2.0 ** -53

    rows = []
    for i in range(count):
        x1, y1 = uniform01() * 700, uniform01() * 700
        w, h = 16 + uniform01() * 384, 16 + uniform01() * 384
        rows.append([i % 2, x1, y1, min(x1 + w, 799), min(y1 + h, 799)])
    return torch.tensor(rows, dtype=torch.float32)


def roi_align_case(backward):
    feat = torch.rand(2, 256, 50, 50) * 2 - 1
    rois = splitmix_rois()
    feat.requires_grad_(backward)

    def run():
        y = roi_align(feat, rois, (7, 7), spatial_scale=1.0 / 16, sampling_ratio=2, aligned=True)
        if backward:
            y.backward(torch.ones_like(y))
    return run


def backward_warp_case(backward):
    n, c, h, w = 8, 64, 128, 128
    x = torch.rand(n, c, h, w) * 2 - 1
    flow = (torch.rand(n, 2, h, w) * 2 - 1) * 3
    # grid_sample takes normalised sampling positions; computing them from the flow is part of
    # the op (Crema's BackwardWarp takes the flow).
    ys, xs = torch.meshgrid(torch.arange(h).float(), torch.arange(w).float(), indexing="ij")
    x.requires_grad_(backward)
    flow.requires_grad_(backward)

    def run():
        gx = (xs + flow[:, 0]) * (2.0 / w) + (1.0 / w - 1)
        gy = (ys + flow[:, 1]) * (2.0 / h) + (1.0 / h - 1)
        y = torch.nn.functional.grid_sample(x, torch.stack([gx, gy], dim=3), mode="bilinear",
                                            padding_mode="zeros", align_corners=False)
        if backward:
            y.backward(torch.ones_like(y))
    return run


# (Crema benchmark name, torch case factory, what torch runs)
CASES = [
    ("BM_DeformConvForward/v1", lambda: deform_conv_case(False, False), "deform_conv2d"),
    ("BM_DeformConvForward/v2", lambda: deform_conv_case(True, False), "deform_conv2d +mask"),
    ("BM_DeformConvForwardBackward/v1", lambda: deform_conv_case(False, True), "deform_conv2d"),
    ("BM_DeformConvForwardBackward/v2", lambda: deform_conv_case(True, True), "deform_conv2d +mask"),
    ("BM_ROIAlignForward", lambda: roi_align_case(False), "roi_align"),
    ("BM_ROIAlignForwardBackward", lambda: roi_align_case(True), "roi_align"),
    ("BM_BackwardWarpForward", lambda: backward_warp_case(False), "grid_sample"),
    ("BM_BackwardWarpForwardBackward", lambda: backward_warp_case(True), "grid_sample"),
]


def time_torch(run, min_time=0.5):
    run()  # warm-up (allocations, lazy init)
    times = []
    start = time.perf_counter()
    while not times or time.perf_counter() - start < min_time:
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def time_crema(name):
    # Google Benchmark appends arguments and options (/2, /real_time, ...) to the name.
    cmd = [ARGS.bench, f"--benchmark_filter=^{name}(/[a-z0-9_]+)*$",
           "--benchmark_format=json",
           "--benchmark_min_time=0.5"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    runs = [b for b in json.loads(out)["benchmarks"] if b.get("run_type", "iteration") == "iteration"]
    if not runs:
        sys.exit(f"compare_torch: crema_bench has no case named {name}")
    b = runs[0]
    scale = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}[b["time_unit"]]
    return b["real_time"] * scale


def main():
    if not os.access(ARGS.bench, os.X_OK):
        sys.exit(f"compare_torch: {ARGS.bench} not found; build with -DCREMA_BUILD_BENCHMARKS=ON")
    print(f"# torch {torch.__version__}, torchvision {torchvision.__version__}, "
          f"{ARGS.threads} threads, {ARGS.rounds} interleaved rounds, median ms")
    print(f"{'case':34s} {'crema ms':>10s} {'torch ms':>10s} {'torch/crema':>12s}  torch op")
    for name, factory, what in CASES:
        if ARGS.filter and ARGS.filter not in name:
            continue
        run = factory()
        crema_ms, torch_ms = [], []
        for _ in range(ARGS.rounds):
            crema_ms.append(time_crema(name))
            torch_ms.append(time_torch(run))
        c, t = statistics.median(crema_ms), statistics.median(torch_ms)
        print(f"{name:34s} {c:10.2f} {t:10.2f} {t / c:11.2f}x  {what}", flush=True)


if __name__ == "__main__":
    main()
