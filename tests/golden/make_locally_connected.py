"""Golden files for LocallyConnected (DeepID's unshared convolution), from PyTorch.

y[n, o, l] = sum_j W[l, o, j] * unfold(x)[n, j, l] + b[o, l], with unfold's (c, kh, kw) tap
order and zero padding; W has shape (H_out * W_out, num_output, C * k * k) and b
(num_output, H_out, W_out), as Crema's blobs. Autograd gives the input, weight and bias
gradients of sum(y * dy).

Cases (N, C, H, W, num_output, kernel, stride, pad, bias): see CASES; tensors come from
torch.manual_seed(20261123 + case index), float64 throughout.

Made with:  /usr/bin/python3 tests/golden/make_locally_connected.py   (PyTorch 1.13, Debian)
Writes tests/golden/locally_connected/case<i>_{x,w,b,dy,y,dx,dw,db}.npy (no b/db without bias).
"""
import os

import numpy as np
import torch
import torch.nn.functional as F

torch.set_num_threads(1)

CASES = [
    (2, 3, 5, 6, 4, 3, 1, 1, True),
    (3, 2, 7, 7, 3, 2, 2, 0, True),
    (2, 2, 6, 5, 3, 3, 2, 1, False),
    (2, 4, 3, 2, 5, 2, 1, 0, True),  # DeepID conv4-like: 2x1 output positions
]


def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "locally_connected")
    os.makedirs(out, exist_ok=True)
    for i, (n, c, h, w, o, k, s, p, bias) in enumerate(CASES):
        torch.manual_seed(20261123 + i)
        out_h = (h + 2 * p - k) // s + 1
        out_w = (w + 2 * p - k) // s + 1
        positions = out_h * out_w
        x = torch.randn(n, c, h, w, dtype=torch.float64, requires_grad=True)
        wt = (torch.randn(positions, o, c * k * k, dtype=torch.float64) * 0.3).requires_grad_(True)
        b = torch.randn(o, out_h, out_w, dtype=torch.float64, requires_grad=True)
        cols = F.unfold(x, kernel_size=k, padding=p, stride=s)  # (N, C*k*k, L)
        y = torch.einsum("loj,njl->nol", wt, cols)
        if bias:
            y = y + b.reshape(1, o, positions)
        y = y.reshape(n, o, out_h, out_w)
        dy = torch.rand(y.shape, dtype=torch.float64) * 2 - 1
        (y * dy).sum().backward()
        arrays = {"x": x, "w": wt, "dy": dy, "y": y, "dx": x.grad, "dw": wt.grad}
        if bias:
            arrays.update({"b": b, "db": b.grad})
        for name, t in arrays.items():
            np.save(os.path.join(out, "case%d_%s.npy" % (i, name)),
                    np.ascontiguousarray(t.detach().numpy()))
        print("case", i, "y", tuple(y.shape))


if __name__ == "__main__":
    main()
