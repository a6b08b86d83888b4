"""Golden files for BackwardWarp: torch.nn.functional.grid_sample (bilinear) as the oracle.

Cases (seed 0, float64): image (2, 3, 5, 7), flow (2, 2, 5, 7) uniform in +-3 px with every
sample position x + u, y + v kept at least 0.05 px from an integer (away from the kinks of the
bilinear weights and of BORDER's clamp); padding zeros and border, align_corners false and
true. The grid is the normalised sample position:
  align_corners=True:  g = 2 s / (W - 1) - 1;  align_corners=False: g = (2 s + 1) / W - 1.
Each case stores x, flow, dy (the upstream gradient), y, dx, dflow (flow grad via autograd
through the normalisation).

Made with: /usr/bin/python3 tests/golden/make_backward_warp.py  (PyTorch 1.13, Debian)
"""
import os

import numpy as np
import torch
import torch.nn.functional as F

torch.set_num_threads(1)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "backward_warp")


def away_from_integers(base, lo, hi, rng):
    """Flow values u in [lo, hi) such that base + u is >= 0.05 from any integer."""
    u = rng.uniform(lo, hi, size=base.shape)
    while True:
        frac = (base + u) - np.floor(base + u)
        bad = (frac < 0.05) | (frac > 0.95)
        if not bad.any():
            return u
        u[bad] = rng.uniform(lo, hi, size=int(bad.sum()))


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(0)
    n, c, h, w = 2, 3, 5, 7
    ys, xs = np.meshgrid(np.arange(h, dtype=np.float64), np.arange(w, dtype=np.float64),
                         indexing="ij")
    for padding in ("zeros", "border"):
        for align in (False, True):
            name = f"{padding}_{'align' if align else 'noalign'}"
            x = rng.uniform(-1, 1, size=(n, c, h, w))
            flow = np.stack([np.stack([away_from_integers(xs, -3, 3, rng),
                                       away_from_integers(ys, -3, 3, rng)]) for _ in range(n)])
            dy = rng.uniform(-1, 1, size=(n, c, h, w))
            xt = torch.tensor(x, requires_grad=True)
            ft = torch.tensor(flow, requires_grad=True)
            sx = torch.tensor(xs) + ft[:, 0]
            sy = torch.tensor(ys) + ft[:, 1]
            if align:
                gx, gy = 2 * sx / (w - 1) - 1, 2 * sy / (h - 1) - 1
            else:
                gx, gy = (2 * sx + 1) / w - 1, (2 * sy + 1) / h - 1
            grid = torch.stack([gx, gy], dim=-1)
            y = F.grid_sample(xt, grid, mode="bilinear", padding_mode=padding,
                              align_corners=align)
            y.backward(torch.tensor(dy))
            for key, val in (("x", x), ("flow", flow), ("dy", dy), ("y", y.detach().numpy()),
                             ("dx", xt.grad.numpy()), ("dflow", ft.grad.numpy())):
                np.save(os.path.join(OUT, f"{name}_{key}.npy"), np.ascontiguousarray(val))


if __name__ == "__main__":
    main()
