"""Golden files for DefPooling (MODELS.md 2(a)-i), from an independent PyTorch formulation.

The windows come from torch.nn.functional.unfold on the input padded with -inf (positions
outside the map can never win), the penalty table P_c(dx, dy) = a_c . (dx, dy, dx^2, dy^2) is
subtracted, the max over the window is the output, and autograd gives the input and penalty
gradients of sum(y * dy). Windows with no input position (all -inf) output 0.

Cases (N, C, H, W, radius, stride, pad): see CASES; inputs, penalties and upstream gradients
come from torch.manual_seed(20261122 + case index), float64 throughout.

Made with:  /usr/bin/python3 tests/golden/make_def_pooling.py   (PyTorch 1.13, Debian)
Writes tests/golden/def_pooling/case<i>_{x,a,dy,y,argmax,dx,da}.npy.
"""
import os

import numpy as np
import torch
import torch.nn.functional as F

torch.set_num_threads(1)

# (N, C, H, W, radius, stride, pad); pad None = radius.
CASES = [
    (2, 3, 7, 6, 1, 1, None),
    (2, 2, 9, 8, 2, 2, None),
    (1, 2, 6, 7, 1, 2, None),
    (2, 2, 5, 4, 1, 3, 3),  # pad > radius: the first window row/column lies outside the map
]


def def_pooling(x, a, radius, stride, pad):
    n, c, h, w = x.shape
    side = 2 * radius + 1
    xp = F.pad(x, (pad, pad, pad, pad), value=float("-inf"))
    cols = F.unfold(xp, kernel_size=side, stride=stride)  # (N, C*side*side, L)
    out_h = (h + 2 * pad - side) // stride + 1
    out_w = (w + 2 * pad - side) // stride + 1
    cols = cols.reshape(n, c, side * side, out_h * out_w)
    d = torch.arange(-radius, radius + 1, dtype=x.dtype)
    dy, dx = torch.meshgrid(d, d, indexing="ij")  # window order: dy outer, dx inner
    basis = torch.stack([dx.flatten(), dy.flatten(), dx.flatten() ** 2, dy.flatten() ** 2])
    table = a @ basis  # (C, side*side)
    vals = cols - table[None, :, :, None]
    best, idx = vals.max(dim=2)
    empty = torch.isinf(best)
    y = torch.where(empty, torch.zeros_like(best), best)
    idx = torch.where(empty, torch.full_like(idx, -1), idx)
    return y.reshape(n, c, out_h, out_w), idx.reshape(n, c, out_h, out_w)


def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "def_pooling")
    os.makedirs(out, exist_ok=True)
    for i, (n, c, h, w, radius, stride, pad) in enumerate(CASES):
        pad = radius if pad is None else pad
        torch.manual_seed(20261122 + i)
        x = torch.randn(n, c, h, w, dtype=torch.float64, requires_grad=True)
        a = (torch.rand(c, 4, dtype=torch.float64) * 0.6 - 0.2).requires_grad_(True)
        y, idx = def_pooling(x, a, radius, stride, pad)
        dy = torch.rand(y.shape, dtype=torch.float64) * 2 - 1
        (y * dy).sum().backward()
        arrays = {"x": x, "a": a, "dy": dy, "y": y, "argmax": idx.to(torch.float64),
                  "dx": x.grad, "da": a.grad}
        for name, t in arrays.items():
            np.save(os.path.join(out, "case%d_%s.npy" % (i, name)),
                    np.ascontiguousarray(t.detach().numpy()))
        print("case", i, "y", tuple(y.shape), "empty windows", int((idx < 0).sum()))


if __name__ == "__main__":
    main()
