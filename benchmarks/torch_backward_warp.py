"""PyTorch side of bench_backward_warp.cpp: grid_sample on the same case, 2 threads.

8 x 64 x 128 x 128 float32 image, flow uniform in +-3 px turned into a normalised grid once
(outside the timing, which favours torch), bilinear, zeros padding, align_corners false.
Forward+backward computes the gradients of the image and the grid, like Crema's layer.
Prints the median and minimum wall time over the repetitions and the median process CPU time
(all threads), in ms: on a loaded machine the CPU time is the steadier comparison.

Run with Debian's python3 (PyTorch 1.13), interleaved with the Crema benchmark, e.g.:
  for i in 1 2 3; do
    build/benchmarks/crema_bench --benchmark_filter=BackwardWarp
    /usr/bin/python3 benchmarks/torch_backward_warp.py
  done
"""
import time

import torch
import torch.nn.functional as F

torch.set_num_threads(2)
N, C, H, W = 8, 64, 128, 128
REPS = 10


def main():
    torch.manual_seed(0)
    x = torch.rand(N, C, H, W) * 2 - 1
    flow = (torch.rand(N, 2, H, W) * 2 - 1) * 3
    ys, xs = torch.meshgrid(torch.arange(H, dtype=torch.float32),
                            torch.arange(W, dtype=torch.float32), indexing="ij")
    grid = torch.stack([(2 * (xs + flow[:, 0]) + 1) / W - 1,
                        (2 * (ys + flow[:, 1]) + 1) / H - 1], dim=-1)
    xr = x.clone().requires_grad_(True)
    gr = grid.clone().requires_grad_(True)
    dy = torch.ones(N, C, H, W)

    def forward():
        with torch.no_grad():
            F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)

    def forward_backward():
        y = F.grid_sample(xr, gr, mode="bilinear", padding_mode="zeros", align_corners=False)
        xr.grad = None
        gr.grad = None
        y.backward(dy)

    for name, f in (("grid_sample forward", forward),
                    ("grid_sample forward+backward", forward_backward)):
        f()
        times, cpu = [], []
        for _ in range(REPS):
            t, c = time.perf_counter(), time.process_time()
            f()
            times.append((time.perf_counter() - t) * 1e3)
            cpu.append((time.process_time() - c) * 1e3)
        times.sort()
        cpu.sort()
        print(f"{name}: wall median {times[len(times) // 2]:.2f} ms, min {times[0]:.2f} ms; "
              f"process CPU median {cpu[len(cpu) // 2]:.2f} ms")


if __name__ == "__main__":
    main()
