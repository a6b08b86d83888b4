"""Golden files for ROIAlign (tests/test_roi_align.cpp).

Oracle: torchvision.ops.roi_align (PyTorch 1.13 / torchvision 0.14), forward and the gradient
of sum(out * P) with respect to the features, all float64.

Made with:  /usr/bin/python3 tests/golden/make_roi_align.py   (from the repository root)

Inputs (seed 0): features 2x3x7x9 uniform in [-1, 1); P of the output shape uniform in [-1, 1)
(seed 20 + case index). RoIs (batch, x1, y1, x2, y2) in image coordinates: inside, whole map,
partly off, fully off, a point, x2 < x1, negative start, fractional corners, a tiny box, a box
over the bottom-right edge. Cases: aligned false/true x sampling_ratio 0 (adaptive)/2, pooled
3x2 at spatial_scale 0.5, plus 2x4 at spatial_scale 0.25 with sampling_ratio 1.
Files: features.npy, rois.npy, <case>_{proj,out,grad}.npy.
"""
import os

import numpy as np
import torch
import torchvision

torch.set_num_threads(1)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "roi_align")
os.makedirs(OUT, exist_ok=True)

g = torch.Generator().manual_seed(0)
features = torch.rand(2, 3, 7, 9, generator=g, dtype=torch.float64) * 2 - 1
rois = torch.tensor([
    [0, 1, 1, 10, 8],
    [1, 0, 0, 17, 13],
    [0, 12, 6, 30, 20],
    [1, 40, 40, 60, 50],
    [0, 5, 5, 5, 5],
    [1, 8, 3, 6, 9],
    [0, -6, -4, 4, 3],
    [1, 3.3, 2.7, 9.6, 11.2],
    [0, 7.1, 4.2, 7.4, 4.9],
    [1, 10.5, 8.5, 19.0, 15.0],
], dtype=torch.float64)


def save(name, t):
    np.save(os.path.join(OUT, name + ".npy"), t.detach().numpy().astype(np.float64))


save("features", features)
save("rois", rois)
# (name, pooled_h, pooled_w, spatial_scale, sampling_ratio, aligned)
CASES = [
    ("a0_s0", 3, 2, 0.5, 0, False),
    ("a0_s2", 3, 2, 0.5, 2, False),
    ("a1_s0", 3, 2, 0.5, 0, True),
    ("a1_s2", 3, 2, 0.5, 2, True),
    ("a1_p2x4_s1", 2, 4, 0.25, 1, True),
]
for i, (name, ph, pw, s, sr, al) in enumerate(CASES):
    x = features.clone().requires_grad_(True)
    out = torchvision.ops.roi_align(x, rois, (ph, pw), spatial_scale=s, sampling_ratio=sr,
                                    aligned=al)
    proj = torch.rand(out.shape, generator=torch.Generator().manual_seed(20 + i),
                      dtype=torch.float64) * 2 - 1
    (out * proj).sum().backward()
    save(name + "_proj", proj)
    save(name + "_out", out)
    save(name + "_grad", x.grad)
print("wrote", OUT)
