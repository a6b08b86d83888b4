"""Golden files for ROIPooling and ROIMaskPooling (tests/test_roi_pooling.cpp,
tests/test_roi_mask_pooling.cpp).

Oracles: torchvision.ops.roi_pool (PyTorch 1.13 / torchvision 0.14) for ROIPooling; for
ROIMaskPooling a PyTorch implementation of the caffe-GBD spec below (with roi_scale 1, no half
box and no mask it is checked to equal roi_pool). Everything is float64.

Made with:  /usr/bin/python3 tests/golden/make_roi_pooling.py   (from the repository root)

Inputs (seed 0): features 2x3x7x9 with distinct values (k + 0.5) * 2 / 378 - 1 in a random
order (no ties, none exactly 0), projection P of the output shape uniform in [-1, 1); the loss
is sum(out * P), so grad = d loss / d features. RoIs (batch, x1, y1, x2, y2) in image
coordinates: inside, whole map, partly off, fully off, a point, x2 < x1, negative start,
fractional corners.

ROIMaskPooling spec (caffe-GBD roi_mask_pooling_layer.cu, with the masked value bug fixed):
  xc, yc = box centre; w, h = x2 - x1, y2 - y1
  box = xc -/+ w * roi_scale / 2, yc -/+ h * roi_scale / 2; half_part 1 keeps x < xc (x2 = xc),
  2 x1 = xc, 3 y2 = yc, 4 y1 = yc
  start/end = round_half_away(coord * spatial_scale + spatial_shift)
  size = max(end - start + 1, 1); bin = size / pooled; bin p covers
  [floor(p * bin), ceil((p + 1) * bin)) + start, clipped to the map; empty bin -> 0
  mask (mask_scale > 0): feature positions with mask_w0 <= w <= mask_w1 and mask_h0 <= h <= mask_h1,
  bounds from the whole box scaled by mask_scale, read as 0 (no gradient).
Files: features.npy, rois.npy, pool_<case>_{proj,out,grad}.npy, mask_<case>_{proj,out,grad}.npy.
"""
import math
import os

import numpy as np
import torch
import torchvision

torch.set_num_threads(1)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "roi_pooling")
os.makedirs(OUT, exist_ok=True)

g = torch.Generator().manual_seed(0)
N, C, H, W = 2, 3, 7, 9
n = N * C * H * W
perm = torch.randperm(n, generator=g).double()
features = ((perm + 0.5) * 2.0 / n - 1.0).reshape(N, C, H, W)
rois = torch.tensor([
    [0, 1, 1, 10, 8],
    [1, 0, 0, 17, 13],
    [0, 12, 6, 30, 20],
    [1, 40, 40, 60, 50],
    [0, 5, 5, 5, 5],
    [1, 8, 3, 6, 9],
    [0, -6, -4, 4, 3],
    [1, 3.3, 2.7, 9.6, 11.2],
], dtype=torch.float64)


def save(name, t):
    np.save(os.path.join(OUT, name + ".npy"), t.detach().numpy().astype(np.float64))


def round_away(v):
    return int(math.copysign(math.floor(abs(v) + 0.5), v))


def mask_pool(x, rois, ph_n, pw_n, scale, shift, half_part, roi_scale, mask_scale):
    outs = []
    for roi in rois.tolist():
        b, x1, y1, x2, y2 = roi
        xc, yc, w, h = (x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1
        xx1, xx2 = xc - w * roi_scale / 2, xc + w * roi_scale / 2
        yy1, yy2 = yc - h * roi_scale / 2, yc + h * roi_scale / 2
        if half_part == 1: xx2 = xc
        if half_part == 2: xx1 = xc
        if half_part == 3: yy2 = yc
        if half_part == 4: yy1 = yc
        sw, sh = round_away(xx1 * scale + shift), round_away(yy1 * scale + shift)
        ew, eh = round_away(xx2 * scale + shift), round_away(yy2 * scale + shift)
        bw = max(ew - sw + 1, 1) / pw_n
        bh = max(eh - sh + 1, 1) / ph_n
        keep = torch.ones(H, W, dtype=torch.bool)
        if mask_scale > 0:
            mw0 = round_away((xc - w * mask_scale / 2) * scale + shift)
            mw1 = round_away((xc + w * mask_scale / 2) * scale + shift)
            mh0 = round_away((yc - h * mask_scale / 2) * scale + shift)
            mh1 = round_away((yc + h * mask_scale / 2) * scale + shift)
            for hh in range(max(mh0, 0), min(mh1 + 1, H)):
                for ww in range(max(mw0, 0), min(mw1 + 1, W)):
                    keep[hh, ww] = False
        masked = torch.where(keep, x[int(b)], torch.zeros((), dtype=x.dtype))
        bins = []
        for p in range(ph_n):
            h0 = min(max(math.floor(p * bh) + sh, 0), H)
            h1 = min(max(math.ceil((p + 1) * bh) + sh, 0), H)
            for q in range(pw_n):
                w0 = min(max(math.floor(q * bw) + sw, 0), W)
                w1 = min(max(math.ceil((q + 1) * bw) + sw, 0), W)
                if h1 <= h0 or w1 <= w0:
                    bins.append(torch.zeros(C, dtype=x.dtype))
                else:
                    bins.append(masked[:, h0:h1, w0:w1].reshape(C, -1).max(dim=1).values)
        outs.append(torch.stack(bins, dim=1).reshape(C, ph_n, pw_n))
    return torch.stack(outs)


def run(prefix, name, fn, shape_seed):
    x = features.clone().requires_grad_(True)
    out = fn(x)
    proj = torch.rand(out.shape, generator=torch.Generator().manual_seed(shape_seed),
                      dtype=torch.float64) * 2 - 1
    (out * proj).sum().backward()
    save(f"{prefix}_{name}_proj", proj)
    save(f"{prefix}_{name}_out", out)
    save(f"{prefix}_{name}_grad", x.grad)
    return out


save("features", features)
save("rois", rois)

# ROIPooling: (name, pooled_h, pooled_w, spatial_scale)
for i, (name, ph, pw, s) in enumerate([("p3x2_s05", 3, 2, 0.5), ("p2x2_s1", 2, 2, 1.0),
                                       ("p4x3_s025", 4, 3, 0.25)]):
    out = run("pool", name, lambda x: torchvision.ops.roi_pool(x, rois, (ph, pw), s), 10 + i)
    same = mask_pool(features, rois, ph, pw, s, 0.0, 0, 1.0, 0.0)
    assert torch.equal(out.detach(), same), name

# ROIMaskPooling: (name, pooled_h, pooled_w, scale, shift, half_part, roi_scale, mask_scale)
MASK_CASES = [
    ("plain", 3, 2, 0.5, 0.0, 0, 1.0, 0.0),
    ("ctx18", 3, 3, 0.5, 0.0, 0, 1.8, 0.0),
    ("half1", 2, 3, 0.5, 0.0, 1, 0.8, 0.0),
    ("half2", 2, 2, 0.5, 0.0, 2, 1.2, 0.0),
    ("half3", 3, 2, 0.5, 0.0, 3, 1.5, 0.0),
    ("half4", 2, 2, 0.5, 0.0, 4, 1.0, 0.0),
    ("mask", 3, 3, 0.5, 0.0, 0, 2.0, 0.8),
    ("mask_half4_shift", 2, 3, 0.5, -0.25, 4, 1.6, 0.5),
]
for i, (name, ph, pw, s, t, hp, rs, ms) in enumerate(MASK_CASES):
    # The layer reads its parameters as float32 (proto float); use the same values.
    s, t, rs, ms = (float(np.float32(v)) for v in (s, t, rs, ms))
    run("mask", name, lambda x: mask_pool(x, rois, ph, pw, s, t, hp, rs, ms), 30 + i)
print("wrote", OUT)
