"""Oracle for Crema's DenseCRF layer: CRF-as-RNN mean-field iterations with EXACT dense Gaussian
filters (O((HW)^2) matrices, no lattice), forward and autograd gradients in float64.

Made with:  /usr/bin/python3 tests/golden/make_dense_crf.py   (PyTorch 1.13, Debian)
Writes tests/golden/dense_crf/<case>_<array>.npy.

Cases (seeds fixed below):
  a: N=2, L=3, H=8, W=7, 3 iterations, theta_alpha=4, theta_beta=0.4, theta_gamma=2.5,
     bottoms (unary, image); seed 1.
  b: N=1, L=4, H=6, W=9, 2 iterations, theta_alpha=3, theta_beta=0.25, theta_gamma=1.5,
     bottoms (unary, image, initial logits Q0); seed 2.
The thetas are rounded to float32 first: the layer's proto fields are float (0.4 is not exact).
Inputs saved: unary (N,L,H,W), image (N,3,H,W) (blocky colour regions plus noise in [0, 1]),
q0 (case b), w_s, w_b, mu (L,L; full matrices, not just diagonals, so every transpose in the
GEMMs matters), proj (N,L,H,W). Outputs: out (final logits) and the gradients of
sum(out * proj): d_unary, d_q0 (case b), d_w_s, d_w_b, d_mu.
"""
import os

import numpy as np
import torch

torch.set_num_threads(1)
torch.set_default_dtype(torch.float64)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "dense_crf")


def features(h, w, image=None, theta_xy=1.0, theta_rgb=1.0):
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float64),
                            torch.arange(w, dtype=torch.float64), indexing="ij")
    cols = [xs.reshape(-1) / theta_xy, ys.reshape(-1) / theta_xy]
    if image is not None:
        cols += [image[c].reshape(-1) / theta_rgb for c in range(3)]
    return torch.stack(cols, dim=1)  # (P, d)


def gauss(f):
    d2 = ((f[:, None, :] - f[None, :, :]) ** 2).sum(-1)
    return torch.exp(-0.5 * d2)  # (P, P)


def meanfield(unary, image, q0, w_s, w_b, mu, iters, ta, tb, tg):
    n, l, h, w = unary.shape
    p = h * w
    k_s = gauss(features(h, w, theta_xy=tg))
    norm_s = 1.0 / (k_s.sum(1) + 1e-20)
    outs = []
    for i in range(n):
        k_b = gauss(features(h, w, image[i], ta, tb))
        norm_b = 1.0 / (k_b.sum(1) + 1e-20)
        u = unary[i].reshape(l, p)
        logits = (q0[i] if q0 is not None else unary[i]).reshape(l, p)
        for _ in range(iters):
            q = torch.softmax(logits, dim=0)
            s = (q @ k_s.T) * norm_s
            b = (q @ k_b.T) * norm_b
            m = w_s @ s + w_b @ b
            logits = u - mu @ m
        outs.append(logits.reshape(l, h, w))
    return torch.stack(outs)


def blocky_image(gen, n, h, w):
    img = np.zeros((n, 3, h, w))
    for i in range(n):
        for _ in range(4):  # a few rectangles of constant colour
            y0, x0 = gen.integers(0, h), gen.integers(0, w)
            y1, x1 = gen.integers(y0 + 1, h + 1), gen.integers(x0 + 1, w + 1)
            img[i, :, y0:y1, x0:x1] = gen.uniform(0, 1, size=(3, 1, 1))
    img += gen.normal(0, 0.03, size=img.shape)
    return np.clip(img, 0, 1)


def make(case, seed, n, l, h, w, iters, ta, tb, tg, with_q0):
    ta, tb, tg = (float(np.float32(v)) for v in (ta, tb, tg))
    gen = np.random.default_rng(seed)
    arrays = {
        "unary": gen.normal(0, 1.5, size=(n, l, h, w)),
        "image": blocky_image(gen, n, h, w),
        "w_s": 3 * np.eye(l) + gen.normal(0, 0.3, size=(l, l)),
        "w_b": 5 * np.eye(l) + gen.normal(0, 0.3, size=(l, l)),
        "mu": -np.eye(l) + gen.normal(0, 0.2, size=(l, l)),
        "proj": gen.uniform(-1, 1, size=(n, l, h, w)),
    }
    if with_q0:
        arrays["q0"] = gen.normal(0, 1.5, size=(n, l, h, w))
    t = {k: torch.tensor(v, requires_grad=k not in ("image", "proj")) for k, v in arrays.items()}
    out = meanfield(t["unary"], t["image"], t.get("q0"), t["w_s"], t["w_b"], t["mu"], iters, ta,
                    tb, tg)
    (out * t["proj"]).sum().backward()
    arrays["out"] = out.detach().numpy()
    for k in ["unary", "w_s", "w_b", "mu"] + (["q0"] if with_q0 else []):
        arrays["d_" + k] = t[k].grad.numpy()
    for k, v in arrays.items():
        np.save(os.path.join(OUT, f"{case}_{k}.npy"), np.ascontiguousarray(v, dtype=np.float64))


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    make("a", 1, n=2, l=3, h=8, w=7, iters=3, ta=4.0, tb=0.4, tg=2.5, with_q0=False)
    make("b", 2, n=1, l=4, h=6, w=9, iters=2, ta=3.0, tb=0.25, tg=1.5, with_q0=True)
