/// Max RoI pooling bodies (Fast R-CNN ROIPooling, GBD-Net ROIMaskPooling): one set of bodies
/// serves both layers; ROIPooling is the case rescale = false, mask_scale = 0.
#pragma once

#include <cmath>
#include <cstdint>

#include "core/hd.h"
#include "cuda_kernels/launch.h"

namespace crema::kernels {

template <class T>
struct RoiPoolArgs {
  int64_t num_rois = 0, batch = 0, channels = 0, height = 0, width = 0;
  int64_t pooled_h = 0, pooled_w = 0;
  T spatial_scale = T(1), spatial_shift = T(0);
  // ROIMaskPooling's box transform: scale the box about its centre, keep one half, mask the
  // inner box. ROIPooling leaves rescale false so its coordinates are used untouched.
  bool rescale = false;
  T roi_scale = T(1);
  int half_part = 0;    // 0 whole, 1 left, 2 right, 3 top, 4 bottom
  T mask_scale = T(0);  // > 0: the inner box of this scale reads as 0 and takes no gradient
};

/// One RoI on the feature map: rounded start, +1 size, bin size, inclusive mask bounds.
/// batch < 0 marks a RoI that pools nothing (bad batch index or non-finite coordinates).
template <class T>
struct RoiPoolBox {
  int64_t batch;
  int start_h, start_w;
  T bin_h, bin_w;
  bool masked;
  int mask_h0, mask_h1, mask_w0, mask_w1;
};

// Rounds a feature coordinate half away from zero; non-finite values clear *ok. Clamped so the
// int conversion is always defined.
template <class T>
CREMA_HD inline int roi_pool_round(T v, bool* ok) {
  if (!(v >= T(-1e9) && v <= T(1e9))) {
    *ok = false;
    return 0;
  }
  return static_cast<int>(std::round(v));
}

// Work item i: one RoI. Reads rois[5i .. 5i+4] = (batch, x1, y1, x2, y2) in image coordinates;
// writes boxes[i] only. GATHER. Fast R-CNN geometry: x' = round(x * spatial_scale + shift),
// size = max(x2' - x1' + 1, 1), bin = size / pooled. ROIMaskPooling first scales the box about
// its centre (x_c -/+ w * roi_scale / 2), optionally keeps one half, and takes the mask box at
// mask_scale from the whole (unhalved) box, as caffe-GBD does.
template <class T>
CREMA_HD inline void roi_pool_geometry(int64_t i, const RoiPoolArgs<T>& a, const T* rois,
                                       RoiPoolBox<T>* boxes) {
  const T* roi = rois + 5 * i;
  RoiPoolBox<T> b{};
  bool ok = roi[0] >= T(0) && roi[0] < static_cast<T>(a.batch);
  T x1 = roi[1], y1 = roi[2], x2 = roi[3], y2 = roi[4];
  const T xc = (x1 + x2) / T(2), yc = (y1 + y2) / T(2);
  const T w = x2 - x1, h = y2 - y1;
  if (a.rescale) {
    x1 = xc - w * a.roi_scale / T(2);
    x2 = xc + w * a.roi_scale / T(2);
    y1 = yc - h * a.roi_scale / T(2);
    y2 = yc + h * a.roi_scale / T(2);
    if (a.half_part == 1) x2 = xc;
    if (a.half_part == 2) x1 = xc;
    if (a.half_part == 3) y2 = yc;
    if (a.half_part == 4) y1 = yc;
  }
  const T s = a.spatial_scale, t = a.spatial_shift;
  b.start_w = roi_pool_round(x1 * s + t, &ok);
  b.start_h = roi_pool_round(y1 * s + t, &ok);
  const int end_w = roi_pool_round(x2 * s + t, &ok);
  const int end_h = roi_pool_round(y2 * s + t, &ok);
  // Malformed RoIs are forced to 1 x 1.
  b.bin_w = static_cast<T>(hd::max(end_w - b.start_w + 1, 1)) / static_cast<T>(a.pooled_w);
  b.bin_h = static_cast<T>(hd::max(end_h - b.start_h + 1, 1)) / static_cast<T>(a.pooled_h);
  b.masked = a.rescale && a.mask_scale > T(0);
  if (b.masked) {
    b.mask_w0 = roi_pool_round((xc - w * a.mask_scale / T(2)) * s + t, &ok);
    b.mask_w1 = roi_pool_round((xc + w * a.mask_scale / T(2)) * s + t, &ok);
    b.mask_h0 = roi_pool_round((yc - h * a.mask_scale / T(2)) * s + t, &ok);
    b.mask_h1 = roi_pool_round((yc + h * a.mask_scale / T(2)) * s + t, &ok);
  }
  b.batch = ok ? static_cast<int64_t>(roi[0]) : -1;
  boxes[i] = b;
}

// Feature rows [*lo, *hi) of bin p along one axis: [floor(p * bin), ceil((p + 1) * bin)) shifted
// by the RoI start and clipped to [0, size).
template <class T>
CREMA_HD inline void roi_pool_bin_range(int64_t p, T bin, int start, int64_t size, int* lo,
                                        int* hi) {
  const int s = static_cast<int>(std::floor(static_cast<T>(p) * bin));
  const int e = static_cast<int>(std::ceil(static_cast<T>(p + 1) * bin));
  const int n = static_cast<int>(size);
  *lo = hd::clamp(s + start, 0, n);
  *hi = hd::clamp(e + start, 0, n);
}

// Work item i: one output (r, c, ph, pw), i = ((r * C + c) * PH + ph) * PW + pw. Reads the bin's
// feature window of plane (batch(r), c) and boxes[r]; writes y[i] and argmax[i] only. GATHER.
// y = max over the bin (Fast R-CNN eq.: y_rj = max_{i in R(r,j)} x_i); an empty bin gives 0.
// argmax is the winner's h * W + w in its plane, or -1 when nothing input-dependent won (empty
// bin, invalid RoI, or a masked position: masked positions read as 0 and take no gradient).
// NaN features never win (comparisons with NaN are false).
template <class T>
CREMA_HD inline void roi_pool_forward(int64_t i, const RoiPoolArgs<T>& a,
                                      const RoiPoolBox<T>* boxes, const T* x, T* y,
                                      int32_t* argmax) {
  const int64_t pw = i % a.pooled_w;
  const int64_t ph = (i / a.pooled_w) % a.pooled_h;
  const int64_t c = (i / (a.pooled_w * a.pooled_h)) % a.channels;
  const int64_t r = i / (a.pooled_w * a.pooled_h * a.channels);
  const RoiPoolBox<T> b = boxes[r];
  if (b.batch < 0) {
    y[i] = T(0);
    argmax[i] = -1;
    return;
  }
  int h0, h1, w0, w1;
  roi_pool_bin_range(ph, b.bin_h, b.start_h, a.height, &h0, &h1);
  roi_pool_bin_range(pw, b.bin_w, b.start_w, a.width, &w0, &w1);
  const T* plane = x + (b.batch * a.channels + c) * a.height * a.width;
  T best = (h1 <= h0 || w1 <= w0) ? T(0) : T(-3.402823466e38);
  int32_t best_at = -1;
  for (int h = h0; h < h1; ++h) {
    const bool row_masked = b.masked && h >= b.mask_h0 && h <= b.mask_h1;
    for (int w = w0; w < w1; ++w) {
      const bool m = row_masked && w >= b.mask_w0 && w <= b.mask_w1;
      const T v = m ? T(0) : plane[h * a.width + w];
      if (v > best) {
        best = v;
        best_at = m ? -1 : static_cast<int32_t>(h * a.width + w);
      }
    }
  }
  y[i] = best;
  argmax[i] = best_at;
}

// Candidate bins [*lo, *hi) along one axis that may contain feature row q: bin p holds q iff
// p in (q'/bin - 1, (q' + 1)/bin) with q' = q - start; widened by one on each side so rounding
// never drops a bin (the argmax test decides).
template <class T>
CREMA_HD inline void roi_pool_bins_of(int64_t q, T bin, int start, int64_t pooled, int* lo,
                                      int* hi) {
  const T rel = static_cast<T>(q - start);
  const T p = static_cast<T>(pooled);
  const T s = hd::clamp(std::floor(rel / bin) - T(1), T(0), p);
  const T e = hd::clamp(std::ceil((rel + T(1)) / bin) + T(1), T(0), p);
  *lo = static_cast<int>(s);
  *hi = static_cast<int>(e);
}

// Work item i: one input element (n, c, h, w), i = ((n * C + c) * H + h) * W + w. Loops over the
// RoIs of image n and the bins that could hold (h, w); reads boxes, argmax and dy; writes dx[i]
// only. GATHER (deterministic, no atomics). dx_i = sum_{r, j : argmax(r, j) = i} dy_rj.
template <class T>
CREMA_HD inline void roi_pool_backward(int64_t i, const RoiPoolArgs<T>& a,
                                       const RoiPoolBox<T>* boxes, const int32_t* argmax,
                                       const T* dy, T* dx) {
  const int64_t w = i % a.width;
  const int64_t h = (i / a.width) % a.height;
  const int64_t c = (i / (a.width * a.height)) % a.channels;
  const int64_t n = i / (a.width * a.height * a.channels);
  const int32_t self = static_cast<int32_t>(h * a.width + w);
  T g = T(0);
  for (int64_t r = 0; r < a.num_rois; ++r) {
    const RoiPoolBox<T> b = boxes[r];
    if (b.batch != n) continue;
    int ph0, ph1, pw0, pw1;
    roi_pool_bins_of(h, b.bin_h, b.start_h, a.pooled_h, &ph0, &ph1);
    roi_pool_bins_of(w, b.bin_w, b.start_w, a.pooled_w, &pw0, &pw1);
    const int64_t base = (r * a.channels + c) * a.pooled_h * a.pooled_w;
    for (int ph = ph0; ph < ph1; ++ph)
      for (int pw = pw0; pw < pw1; ++pw) {
        const int64_t o = base + ph * a.pooled_w + pw;
        if (argmax[o] == self) g += dy[o];
      }
  }
  dx[i] = g;
}

}  // namespace crema::kernels

namespace crema::cuda {

/// Launchers of the bodies above (cuda_kernels/roi_pooling.cu; CUDA builds only).
template <class T>
void launch_roi_pool_geometry(Stream s, int64_t n, const kernels::RoiPoolArgs<T>& a, const T* rois,
                              kernels::RoiPoolBox<T>* boxes);
template <class T>
void launch_roi_pool_forward(Stream s, int64_t n, const kernels::RoiPoolArgs<T>& a,
                             const kernels::RoiPoolBox<T>* boxes, const T* x, T* y,
                             int32_t* argmax);
template <class T>
void launch_roi_pool_backward(Stream s, int64_t n, const kernels::RoiPoolArgs<T>& a,
                              const kernels::RoiPoolBox<T>* boxes, const int32_t* argmax,
                              const T* dy, T* dx);

}  // namespace crema::cuda
