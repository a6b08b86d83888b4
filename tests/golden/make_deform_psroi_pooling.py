"""Golden files for DeformablePSROIPooling and DeformRoIPooling (tests/test_deform_psroi_pooling.cpp).

An independent PyTorch implementation written from the math (Dai et al. 2017 eq. 6 with
Deformable-ConvNets' PS conventions; mmcv's deform_roi_pool conventions), vectorised over all
samples, with autograd for the gradients of the features and the offsets; plus two torchvision
cross-checks:
  * mmcv variant without offsets == torchvision.ops.roi_align(aligned=True) (same sampling
    ratio; 0 in mmcv = adaptive = -1 in torchvision). Written as golden outputs so the C++
    test compares the layer with torchvision directly.
  * PS variant with no_trans vs torchvision.ops.ps_roi_align: the conventions differ
    (Deformable-ConvNets rounds the corners and adds 1 to the end corner, puts sample i of S at
    bin start + i*bin/S instead of (i + 1/2)*bin/S, skips samples outside [-0.5, size - 0.5]
    and averages over the counted ones; ps_roi_align reads 0 outside [-1, size] and always
    divides by S^2). They coincide when the boxes given to ps_roi_align are the rounded boxes
    with the end corner + 1, moved left/up by half a sample step, and every sample lies inside
    the map. Case ps_vs_torchvision is built that way; its golden output is ps_roi_align's.

trans_std and gamma are rounded to float32 first, as the layer reads them from float proto fields.

Cases (seed 0 for all, float64):
  ps_trans     N=2 C=18 H=7 W=8, output_dim=2 group=3 pooled=3 part=3 sample_per_part=2,
               spatial_scale=0.5 trans_std=0.1, 1 class of offsets (R=4)
  ps_classes   N=1 C=16 H=6 W=6, output_dim=4 group=2 pooled=3 part=2 sample_per_part=3,
               spatial_scale=1 trans_std=0.2, 2 classes of offsets (R=3)
  ps_notrans   as ps_trans without offsets (no_trans)
  mmcv_sr2     N=2 C=3 H=7 W=6, pooled 2x3, spatial_scale=0.5 sampling_ratio=2 gamma=0.1 (R=4)
  mmcv_adapt   N=1 C=2 H=8 W=8, pooled 2x2, spatial_scale=1 sampling_ratio=0 gamma=0.3 (R=3)
  roialign_sr2 / roialign_adapt: mmcv without offsets, golden = torchvision roi_align
  ps_vs_torchvision: PS no_trans, N=1 C=8 H=9 W=9, output_dim=2 group=pooled=2, S=2, scale=1
Files per case: <case>_x, _rois, [_offset], _dy (the upstream gradient), _y, _dx, [_doffset].

Command: /usr/bin/python3 tests/golden/make_deform_psroi_pooling.py  (from the repo root)
"""
import os

import numpy as np
import torch
import torchvision

torch.set_num_threads(1)
torch.manual_seed(0)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "deform_psroi_pooling")
D = torch.float64


def f32(v):
    """The proto stores spatial_scale, trans_std and gamma as float: use the rounded values."""
    return float(np.float32(v))


def round_half_away(v):
    return torch.sign(v) * torch.floor(v.abs() + 0.5)


def ps_pool(x, rois, trans, output_dim, group, pooled, part, spp, scale, trans_std):
    """Deformable PS RoI pooling; trans None = no_trans. Output (R, output_dim, P, P)."""
    N, C, H, W = x.shape
    R = rois.shape[0]
    b = rois[:, 0].long()
    rr = round_half_away(rois[:, 1:])
    x1 = rr[:, 0] * scale - 0.5
    y1 = rr[:, 1] * scale - 0.5
    rw = torch.clamp((rr[:, 2] + 1) * scale - 0.5 - x1, min=0.1)
    rh = torch.clamp((rr[:, 3] + 1) * scale - 0.5 - y1, min=0.1)
    bw, bh = rw / pooled, rh / pooled
    p = torch.arange(pooled)
    cell = (p * part) // pooled
    classes = 1 if trans is None else trans.shape[1] // 2
    per_class = output_dim // classes
    c = torch.arange(output_dim)
    k = c // per_class
    # offsets per (R, output_dim, ph, pw)
    if trans is None:
        tx = torch.zeros(R, output_dim, pooled, pooled, dtype=D)
        ty = torch.zeros_like(tx)
    else:
        tx = trans[:, 2 * k][:, :, cell][:, :, :, cell] * trans_std
        ty = trans[:, 2 * k + 1][:, :, cell][:, :, :, cell] * trans_std
    i = torch.arange(spp, dtype=D)
    # positions (R, c, ph, pw, iy, ix)
    ws = (x1[:, None, None, None] + p[None, None, None, :] * bw[:, None, None, None]
          + tx * rw[:, None, None, None])
    hs = (y1[:, None, None, None] + p[None, None, :, None] * bh[:, None, None, None]
          + ty * rh[:, None, None, None])
    w = ws[..., None, None] + i[None, :] * (bw / spp)[:, None, None, None, None, None]
    h = hs[..., None, None] + i[:, None] * (bh / spp)[:, None, None, None, None, None]
    w, h = torch.broadcast_tensors(w, h)
    valid = (w >= -0.5) & (w <= W - 0.5) & (h >= -0.5) & (h <= H - 0.5)
    wc = torch.clamp(w, 0, W - 1)
    hc = torch.clamp(h, 0, H - 1)
    xa, xb = torch.floor(wc).detach(), torch.ceil(wc).detach()
    ya, yb = torch.floor(hc).detach(), torch.ceil(hc).detach()
    fx, fy = wc - xa, hc - ya
    g = torch.clamp((p * group) // pooled, 0, group - 1)
    cin = (c[:, None, None] * group + g[None, :, None]) * group + g[None, None, :]
    plane = (b[:, None, None, None] * C + cin[None])[..., None, None]
    flat = x.reshape(-1)

    def at(yy, xx):
        idx = ((plane * H + yy.long()) * W + xx.long()).clamp(0, flat.numel() - 1)
        return flat[idx]

    v = ((1 - fx) * (1 - fy) * at(ya, xa) + (1 - fx) * fy * at(yb, xa)
         + fx * (1 - fy) * at(ya, xb) + fx * fy * at(yb, xb))
    v = torch.where(valid, v, torch.zeros_like(v))
    cnt = valid.sum(dim=(-1, -2)).to(D)
    s = v.sum(dim=(-1, -2))
    return torch.where(cnt > 0, s / cnt.clamp(min=1), torch.zeros_like(s))


def mmcv_axis(v, size):
    """mmcv's bilinear_interpolate rule on one axis: (valid, lo, hi, frac)."""
    valid = (v >= -1) & (v <= size)
    vc = torch.clamp(v, min=0)
    lo = torch.floor(vc).detach()
    top = lo >= size - 1
    lo = torch.where(top, torch.full_like(lo, size - 1), lo)
    hi = torch.where(top, lo, lo + 1)
    vc = torch.where(top, lo, vc)
    return valid, lo, hi, vc - lo


def mmcv_pool(x, rois, offset, ph_n, pw_n, scale, ratio, gamma, ps_group=None):
    """mmcv DeformRoIPool (offset None = no offset). ps_group: PS channel mapping instead."""
    N, C, H, W = x.shape
    outs = []
    flat = x.reshape(-1)
    out_c = C if ps_group is None else C // (ph_n * pw_n)
    for r in range(rois.shape[0]):
        b = int(rois[r, 0])
        x1 = rois[r, 1] * scale - 0.5
        y1 = rois[r, 2] * scale - 0.5
        rw = rois[r, 3] * scale - 0.5 - x1
        rh = rois[r, 4] * scale - 0.5 - y1
        bw, bh = rw / pw_n, rh / ph_n
        gh = ratio if ratio > 0 else int(np.ceil(float(rh) / ph_n))
        gw = ratio if ratio > 0 else int(np.ceil(float(rw) / pw_n))
        if gh <= 0 or gw <= 0:
            outs.append(torch.zeros(out_c, ph_n, pw_n, dtype=D))
            continue
        ph = torch.arange(ph_n, dtype=D)[:, None, None, None]
        pw = torch.arange(pw_n, dtype=D)[None, :, None, None]
        iy = torch.arange(gh, dtype=D)[None, None, :, None]
        ix = torch.arange(gw, dtype=D)[None, None, None, :]
        ox = torch.zeros(ph_n, pw_n, dtype=D) if offset is None else gamma * rw * offset[r, 0]
        oy = torch.zeros(ph_n, pw_n, dtype=D) if offset is None else gamma * rh * offset[r, 1]
        yy = y1 + oy[:, :, None, None] + ph * bh + (iy + 0.5) * bh / gh
        xx = x1 + ox[:, :, None, None] + pw * bw + (ix + 0.5) * bw / gw
        yy, xx = torch.broadcast_tensors(yy, xx)
        vy, ylo, yhi, ly = mmcv_axis(yy, H)
        vx, xlo, xhi, lx = mmcv_axis(xx, W)
        valid = vy & vx
        c = torch.arange(out_c)[:, None, None, None, None]
        if ps_group is None:
            cin = c
        else:
            cin = (c * ph_n + torch.arange(ph_n)[:, None, None, None]) * pw_n + torch.arange(
                pw_n)[None, :, None, None]
        plane = b * C + cin

        def at(a, bb):
            idx = ((plane * H + a.long()) * W + bb.long()).clamp(0, flat.numel() - 1)
            return flat[idx]

        v = ((1 - ly) * (1 - lx) * at(ylo, xlo) + (1 - ly) * lx * at(ylo, xhi)
             + ly * (1 - lx) * at(yhi, xlo) + ly * lx * at(yhi, xhi))
        v = torch.where(valid, v, torch.zeros_like(v))
        outs.append(v.sum(dim=(-1, -2)) / (gh * gw))
    return torch.stack(outs)


def rand_rois(n_img, R, H_img, W_img, gen):
    rows = []
    for _ in range(R):
        b = int(torch.randint(0, n_img, (1,), generator=gen))
        x1 = float(torch.rand(1, generator=gen)) * W_img * 0.6 - 1.3
        y1 = float(torch.rand(1, generator=gen)) * H_img * 0.6 - 1.3
        x2 = x1 + 1.7 + float(torch.rand(1, generator=gen)) * W_img * 0.6
        y2 = y1 + 1.7 + float(torch.rand(1, generator=gen)) * H_img * 0.6
        rows.append([b, x1, y1, x2, y2])
    return torch.tensor(rows, dtype=D)


def save(name, **arrays):
    for k, v in arrays.items():
        np.save(os.path.join(OUT, f"{name}_{k}.npy"), v.detach().numpy().astype(np.float64))


def run_case(name, fn, x, rois, offset):
    x = x.clone().requires_grad_(True)
    off = None if offset is None else offset.clone().requires_grad_(True)
    y = fn(x, rois, off)
    dy = torch.rand(y.shape, dtype=D, generator=GEN) * 2 - 1
    (y * dy).sum().backward()
    arrays = dict(x=x, rois=rois, dy=dy, y=y, dx=x.grad)
    if off is not None:
        arrays.update(offset=off, doffset=off.grad)
    save(name, **arrays)
    return y


GEN = torch.Generator().manual_seed(0)
os.makedirs(OUT, exist_ok=True)

# PS cases. Image coordinates are 1/scale times the map; rois stick out of the map on purpose.
x = torch.rand(2, 18, 7, 8, dtype=D, generator=GEN) * 2 - 1
rois = rand_rois(2, 4, 14, 16, GEN)
rois[3] = torch.tensor([1, 9.2, 10.4, 19.6, 17.1], dtype=D)  # partly outside the map
trans = torch.randn(4, 2, 3, 3, dtype=D, generator=GEN)
run_case("ps_trans", lambda a, r, t: ps_pool(a, r, t, 2, 3, 3, 3, 2, 0.5, f32(0.1)), x, rois, trans)
run_case("ps_notrans", lambda a, r, t: ps_pool(a, r, None, 2, 3, 3, 3, 2, 0.5, f32(0.1)), x, rois,
         None)

x = torch.rand(1, 16, 6, 6, dtype=D, generator=GEN) * 2 - 1
rois = rand_rois(1, 3, 6, 6, GEN)
trans = torch.randn(3, 4, 2, 2, dtype=D, generator=GEN)
run_case("ps_classes", lambda a, r, t: ps_pool(a, r, t, 4, 2, 3, 2, 3, 1.0, f32(0.2)), x, rois, trans)

# mmcv cases.
x = torch.rand(2, 3, 7, 6, dtype=D, generator=GEN) * 2 - 1
rois = rand_rois(2, 4, 14, 12, GEN)
offset = torch.randn(4, 2, 2, 3, dtype=D, generator=GEN)
run_case("mmcv_sr2", lambda a, r, o: mmcv_pool(a, r, o, 2, 3, 0.5, 2, f32(0.1)), x, rois, offset)
y_sr2 = mmcv_pool(x, rois, None, 2, 3, 0.5, 2, 0.1)
want = torchvision.ops.roi_align(x, rois, (2, 3), 0.5, 2, aligned=True)
assert torch.allclose(y_sr2, want, atol=1e-12), (y_sr2 - want).abs().max()
run_case("roialign_sr2",
         lambda a, r, o: torchvision.ops.roi_align(a, r, (2, 3), 0.5, 2, aligned=True), x, rois,
         None)

x = torch.rand(1, 2, 8, 8, dtype=D, generator=GEN) * 2 - 1
rois = rand_rois(1, 3, 8, 8, GEN)
offset = torch.randn(3, 2, 2, 2, dtype=D, generator=GEN)
run_case("mmcv_adapt", lambda a, r, o: mmcv_pool(a, r, o, 2, 2, 1.0, 0, f32(0.3)), x, rois, offset)
y_ad = mmcv_pool(x, rois, None, 2, 2, 1.0, 0, 0.3)
want = torchvision.ops.roi_align(x, rois, (2, 2), 1.0, -1, aligned=True)
assert torch.allclose(y_ad, want, atol=1e-12), (y_ad - want).abs().max()
run_case("roialign_adapt",
         lambda a, r, o: torchvision.ops.roi_align(a, r, (2, 2), 1.0, -1, aligned=True), x, rois,
         None)

# PS no_trans against torchvision's ps_roi_align (see the module docstring).
x = torch.rand(1, 8, 9, 9, dtype=D, generator=GEN) * 2 - 1
rois = torch.tensor([[0, 2, 1, 6, 5], [0, 3, 3, 7, 6], [0, 1, 2, 4, 7]], dtype=D)
spp = 2
ref = ps_pool(x, rois, None, 2, 2, 2, 2, spp, 1.0, 0.0)
shift_x = 0.5 * (rois[:, 3] + 1 - rois[:, 1]) / 2 / spp
shift_y = 0.5 * (rois[:, 4] + 1 - rois[:, 2]) / 2 / spp
tv_boxes = torch.stack([rois[:, 0], rois[:, 1] - shift_x, rois[:, 2] - shift_y,
                        rois[:, 3] + 1 - shift_x, rois[:, 4] + 1 - shift_y], dim=1)
tv = torchvision.ops.ps_roi_align(x, tv_boxes, (2, 2), 1.0, spp)
assert torch.allclose(ref, tv, atol=1e-12), (ref - tv).abs().max()
run_case("ps_vs_torchvision",
         lambda a, r, o: torchvision.ops.ps_roi_align(a, tv_boxes, (2, 2), 1.0, spp), x, rois,
         None)
print("wrote", sorted(os.listdir(OUT)))
