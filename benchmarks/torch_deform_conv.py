"""torchvision.ops.deform_conv2d on the CPU, same cases as benchmarks/bench_deform_conv.cpp.

    /usr/bin/python3 benchmarks/torch_deform_conv.py [repeats]

2 threads, float32, 8x64x56x56 input, 3x3 kernel, pad 1, 64 outputs, offsets uniform in +-2,
mask uniform in (0, 1). Prints the median wall and process CPU time per iteration of forward and
forward + backward (all of x, offset, mask, weight, bias requiring grad), v1 and v2.
"""
import statistics
import sys
import time

import torch
from torchvision.ops import deform_conv2d

torch.set_num_threads(2)
torch.manual_seed(0)
repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 5
n, c, hw, o, k = 8, 64, 56, 64, 3
x = (torch.rand(n, c, hw, hw) * 2 - 1).requires_grad_()
offset = (torch.rand(n, 2 * k * k, hw, hw) * 4 - 2).requires_grad_()
mask = torch.rand(n, k * k, hw, hw).requires_grad_()
w = (torch.randn(o, c, k, k) * 0.05).requires_grad_()
b = torch.zeros(o).requires_grad_()
gy = torch.ones(n, o, hw, hw)


def run(modulated, backward):
    m = mask if modulated else None
    if backward:
        y = deform_conv2d(x, offset, w, b, padding=(1, 1), mask=m)
        y.backward(gy)
    else:
        with torch.no_grad():
            deform_conv2d(x, offset, w, b, padding=(1, 1), mask=m)


for name, modulated, backward in [("Forward/v1", False, False), ("Forward/v2", True, False),
                                  ("ForwardBackward/v1", False, True),
                                  ("ForwardBackward/v2", True, True)]:
    run(modulated, backward)
    times, cpu = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        run(modulated, backward)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    print(f"torchvision {name}: {statistics.median(times) * 1e3:.1f} ms wall, "
          f"{statistics.median(cpu) * 1e3:.1f} ms CPU (all threads; median of {repeats})",
          flush=True)
