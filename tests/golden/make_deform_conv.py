"""Golden files for DeformableConvolution from torchvision.ops.deform_conv2d (the oracle).

Made with Debian's PyTorch 1.13 / torchvision 0.14 (CPU, float64, one thread):

    /usr/bin/python3 tests/golden/make_deform_conv.py

Writes tests/golden/deform_conv/<case>_<name>.npy for each case below: the inputs x, offset,
mask (v2 only), weight, bias (when present) and dy (the top gradient), the output y, and the
gradients dx, doffset, dmask (v2), dweight, dbias. Seed 2024 + case index. Offsets are uniform
in +-amp (so some taps fall partly or wholly outside the image), masks uniform in (0, 1).
"""
import os

import numpy as np
import torch
from torchvision.ops import deform_conv2d

torch.set_num_threads(1)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "deform_conv")

# name, modulated, N, C, H, W, Cout, (kh, kw), stride, pad, dilation, group, DG, bias, amp
CASES = [
    ("v1_basic", False, 2, 4, 7, 6, 6, (3, 3), (1, 1), (1, 1), (1, 1), 1, 1, True, 2.0),
    ("v2_group_dg_stride_dil", True, 2, 4, 8, 7, 4, (3, 3), (2, 2), (2, 2), (2, 2), 2, 2, True, 2.0),
    ("v1_rect_mixed", False, 1, 6, 6, 7, 4, (2, 3), (2, 1), (1, 0), (1, 2), 2, 3, False, 2.0),
    ("v2_dg_per_channel_far", True, 2, 4, 5, 5, 3, (3, 3), (1, 1), (0, 0), (1, 1), 1, 4, True, 4.0),
]


def save(case, name, t):
    np.save(os.path.join(OUT, f"{case}_{name}.npy"), t.detach().numpy().astype(np.float64))


def main():
    os.makedirs(OUT, exist_ok=True)
    for idx, (name, modulated, n, c, h, w, cout, k, stride, pad, dil, group, dg, bias,
              amp) in enumerate(CASES):
        g = torch.Generator().manual_seed(2024 + idx)
        kh, kw = k
        oh = (h + 2 * pad[0] - dil[0] * (kh - 1) - 1) // stride[0] + 1
        ow = (w + 2 * pad[1] - dil[1] * (kw - 1) - 1) // stride[1] + 1

        def uni(shape, lo, hi):
            return (torch.rand(shape, generator=g, dtype=torch.float64) * (hi - lo) + lo)

        x = uni((n, c, h, w), -1, 1).requires_grad_()
        offset = uni((n, 2 * dg * kh * kw, oh, ow), -amp, amp).requires_grad_()
        weight = uni((cout, c // group, kh, kw), -1, 1).requires_grad_()
        b = uni((cout,), -1, 1).requires_grad_() if bias else None
        mask = uni((n, dg * kh * kw, oh, ow), 0, 1).requires_grad_() if modulated else None
        y = deform_conv2d(x, offset, weight, b, stride=stride, padding=pad, dilation=dil,
                          mask=mask)
        dy = uni(tuple(y.shape), -1, 1)
        y.backward(dy)
        save(name, "x", x)
        save(name, "offset", offset)
        save(name, "weight", weight)
        save(name, "dy", dy)
        save(name, "y", y)
        save(name, "dx", x.grad)
        save(name, "doffset", offset.grad)
        save(name, "dweight", weight.grad)
        if bias:
            save(name, "bias", b)
            save(name, "dbias", b.grad)
        if modulated:
            save(name, "mask", mask)
            save(name, "dmask", mask.grad)
        print(name, "y", tuple(y.shape))


if __name__ == "__main__":
    main()
