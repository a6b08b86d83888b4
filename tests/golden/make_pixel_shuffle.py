"""Golden files for PixelShuffle: torch.nn.functional.pixel_shuffle, and zero-upsampling by
strided assignment (y[:, :, ::r, ::r] = x, zeros elsewhere), both with autograd gradients.

Cases (seed 0, float64): shuffle r=2 on (2, 12, 3, 4), r=3 on (1, 18, 2, 3); zero-upsample
r=2 on (2, 3, 3, 4), r=3 on (1, 2, 2, 3). Each stores x, dy (upstream gradient), y, dx.

Made with: /usr/bin/python3 tests/golden/make_pixel_shuffle.py  (PyTorch 1.13, Debian)
"""
import os

import numpy as np
import torch
import torch.nn.functional as F

torch.set_num_threads(1)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pixel_shuffle")


def zero_upsample(x, r):
    n, c, h, w = x.shape
    y = x.new_zeros(n, c, h * r, w * r)
    y[:, :, ::r, ::r] = x
    return y


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(0)
    cases = [("shuffle_r2", 2, (2, 12, 3, 4), False), ("shuffle_r3", 3, (1, 18, 2, 3), False),
             ("zero_r2", 2, (2, 3, 3, 4), True), ("zero_r3", 3, (1, 2, 2, 3), True)]
    for name, r, shape, zero in cases:
        x = rng.uniform(-1, 1, size=shape)
        xt = torch.tensor(x, requires_grad=True)
        y = zero_upsample(xt, r) if zero else F.pixel_shuffle(xt, r)
        dy = rng.uniform(-1, 1, size=tuple(y.shape))
        y.backward(torch.tensor(dy))
        for key, val in (("x", x), ("dy", dy), ("y", y.detach().numpy()),
                         ("dx", xt.grad.numpy())):
            np.save(os.path.join(OUT, f"{name}_{key}.npy"), np.ascontiguousarray(val))


if __name__ == "__main__":
    main()
