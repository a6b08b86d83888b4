"""Golden files for SPMC: an independent PyTorch implementation of the forward bilinear
splatting of MODELS.md §2(c), written from the math (not from Crema's kernels):
  x^s = a (x + u), y^s = a (y + v);  J^H_q = sum_p J^L_p M(x^s - x_q) M(y^s - y_q),
M(t) = max(0, 1 - |t|), targets outside the HR plane dropped, no normalisation. The four
weighted contributions of every LR element are added with index_add_ into the flat HR output;
autograd gives the image and flow gradients. On [x0, x0 + 1), x0 = floor(x^s), M(x^s - x0) =
1 - f and M(x^s - x0 - 1) = f with f = x^s - x0; the oracle writes the weights in that form
(floor has zero gradient), so at integer positions autograd gives the right-sided derivative,
Crema's convention. (Writing 1 - |t| instead would give torch's sign(0) = 0 at t = 0.)

Cases (seed 0, float64), N=2, C=2, h=4, w=5:
  scale2, scale3, scale4: flow uniform in +-1.5 LR px (some targets fall outside), every
      a (x + u) and a (y + v) kept at least 0.05 HR px from an integer (away from the kinks);
  zero_scale3: zero flow (forward equals zero-upsampling; gradients at integer positions).
Each stores image, flow, dy (upstream gradient), y, dimage, dflow.

Made with: /usr/bin/python3 tests/golden/make_spmc.py  (PyTorch 1.13, Debian)
"""
import os

import numpy as np
import torch

torch.set_num_threads(1)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "spmc")


def spmc(image, flow, a):
    n, c, h, w = image.shape
    hh, ww = a * h, a * w
    ys, xs = torch.meshgrid(torch.arange(h, dtype=image.dtype), torch.arange(w, dtype=image.dtype),
                            indexing="ij")
    sx = a * (xs + flow[:, 0])  # (n, h, w)
    sy = a * (ys + flow[:, 1])
    x0, y0 = torch.floor(sx), torch.floor(sy)
    fx, fy = sx - x0, sy - y0
    out = image.new_zeros(n * c * hh * ww)
    nidx = torch.arange(n).view(n, 1, 1, 1)
    cidx = torch.arange(c).view(1, c, 1, 1)
    for dyy in (0, 1):
        for dxx in (0, 1):
            tx, ty = x0 + dxx, y0 + dyy
            wgt = (fx if dxx else 1 - fx) * (fy if dyy else 1 - fy)  # (n, h, w)
            inside = (tx >= 0) & (tx < ww) & (ty >= 0) & (ty < hh)
            flat = ((nidx * c + cidx) * hh + ty.long().unsqueeze(1)) * ww + tx.long().unsqueeze(1)
            contrib = image * wgt.unsqueeze(1)
            mask = inside.unsqueeze(1).expand(n, c, h, w)
            out = out.index_add(0, flat[mask], contrib[mask])
    return out.view(n, c, hh, ww)


def away_from_integers(base, a, lo, hi, rng):
    u = rng.uniform(lo, hi, size=base.shape)
    while True:
        s = a * (base + u)
        frac = s - np.floor(s)
        bad = (frac < 0.05) | (frac > 0.95)
        if not bad.any():
            return u
        u[bad] = rng.uniform(lo, hi, size=int(bad.sum()))


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(0)
    n, c, h, w = 2, 2, 4, 5
    ys, xs = np.meshgrid(np.arange(h, dtype=np.float64), np.arange(w, dtype=np.float64),
                         indexing="ij")
    cases = [("scale2", 2, False), ("scale3", 3, False), ("scale4", 4, False),
             ("zero_scale3", 3, True)]
    for name, a, zero in cases:
        image = rng.uniform(-1, 1, size=(n, c, h, w))
        if zero:
            flow = np.zeros((n, 2, h, w))
        else:
            flow = np.stack([np.stack([away_from_integers(xs, a, -1.5, 1.5, rng),
                                       away_from_integers(ys, a, -1.5, 1.5, rng)])
                             for _ in range(n)])
        dy = rng.uniform(-1, 1, size=(n, c, a * h, a * w))
        it = torch.tensor(image, requires_grad=True)
        ft = torch.tensor(flow, requires_grad=True)
        y = spmc(it, ft, a)
        y.backward(torch.tensor(dy))
        for key, val in (("image", image), ("flow", flow), ("dy", dy), ("y", y.detach().numpy()),
                         ("dimage", it.grad.numpy()), ("dflow", ft.grad.numpy())):
            np.save(os.path.join(OUT, f"{name}_{key}.npy"), np.ascontiguousarray(val))


if __name__ == "__main__":
    main()
