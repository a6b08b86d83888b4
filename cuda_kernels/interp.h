/// Bilinear interpolation kernel bodies (DeepLab / PSPNet's Interp layer, align-corners).
#pragma once

#include <cstdint>

#include "core/hd.h"
#include "cuda_kernels/launch.h"

namespace crema::kernels {

/// Resizes the eff_h x eff_w region starting at (crop_y, crop_x) of each in_h x in_w input
/// plane to out_h x out_w. Align-corners convention: output o samples source position
/// r * o with r = (eff - 1) / (out - 1) (r = 0 when out == 1), so the first and last outputs
/// sit exactly on the first and last inputs of the region.
template <class T>
struct InterpArgs {
  int64_t in_h, in_w;
  int64_t crop_y, crop_x;
  int64_t eff_h, eff_w;
  int64_t out_h, out_w;
  T rh, rw;
};

/// The two source indices of output o along one axis and the weight of the second:
/// i0 = floor(r * o) (clamped to eff - 1 against rounding), i1 = i0 + 1 except at the last
/// index, where i1 = i0; l1 = r * o - i0, and the first index has weight 1 - l1.
template <class T>
CREMA_HD inline void interp_source(int64_t o, T r, int64_t eff, int64_t* i0, int64_t* i1, T* l1) {
  const T src = r * static_cast<T>(o);
  const int64_t i = hd::min<int64_t>(static_cast<int64_t>(src), eff - 1);
  *i0 = i;
  *i1 = i < eff - 1 ? i + 1 : i;
  *l1 = src - static_cast<T>(i);
}

/// i0 of output o (see interp_source); nondecreasing in o.
template <class T>
CREMA_HD inline int64_t interp_first_source(int64_t o, T r, int64_t eff) {
  return hd::min<int64_t>(static_cast<int64_t>(r * static_cast<T>(o)), eff - 1);
}

/// The outputs [*first, *end) along one axis that sample source index s (their i0 is s - 1 or
/// s; as i1 <= i0 + 1 and i0 is nondecreasing they are contiguous). Starts from the estimate
/// (s - 1) / r and walks to the exact bounds with the same arithmetic as interp_source, so
/// rounding can never drop or add an output.
template <class T>
CREMA_HD inline void interp_cover(int64_t s, T r, int64_t eff, int64_t out, int64_t* first,
                                  int64_t* end) {
  int64_t o = 0;
  if (r > T(0) && s > 0) {
    const T est = static_cast<T>(s - 1) / r;
    o = est < static_cast<T>(out - 1) ? static_cast<int64_t>(est) : out - 1;
  }
  while (o > 0 && interp_first_source(o - 1, r, eff) >= s - 1) --o;
  while (o < out && interp_first_source(o, r, eff) < s - 1) ++o;
  *first = o;
  while (o < out && interp_first_source(o, r, eff) <= s) ++o;
  *end = o;
}

/// Weight with which output o samples source index s along one axis (0 if it does not).
template <class T>
CREMA_HD inline T interp_weight(int64_t o, int64_t s, T r, int64_t eff) {
  int64_t i0, i1;
  T l1;
  interp_source(o, r, eff, &i0, &i1, &l1);
  return (i0 == s ? T(1) - l1 : T(0)) + (i1 == s ? l1 : T(0));
}

// Work item: one output row, i in [0, planes * out_h), split as i = plane * out_h + oh. For
// each ow, blends the four source pixels as
//   y = (1 - lh) * ((1 - lw) * x00 + lw * x01) + lh * ((1 - lw) * x10 + lw * x11).
// Writes y[i * out_w + ow]. GATHER.
template <class T>
CREMA_HD inline void interp_forward(int64_t i, const InterpArgs<T>& a, const T* x, T* y) {
  const int64_t oh = i % a.out_h;
  const int64_t plane = i / a.out_h;
  int64_t h0, h1;
  T lh1;
  interp_source(oh, a.rh, a.eff_h, &h0, &h1, &lh1);
  const T lh0 = T(1) - lh1;
  const T* xp = x + plane * a.in_h * a.in_w + a.crop_y * a.in_w + a.crop_x;
  const T* r0 = xp + h0 * a.in_w;
  const T* r1 = xp + h1 * a.in_w;
  T* yr = y + i * a.out_w;
  for (int64_t ow = 0; ow < a.out_w; ++ow) {
    int64_t w0, w1;
    T lw1;
    interp_source(ow, a.rw, a.eff_w, &w0, &w1, &lw1);
    const T lw0 = T(1) - lw1;
    yr[ow] = lh0 * (lw0 * r0[w0] + lw1 * r0[w1]) + lh1 * (lw0 * r1[w0] + lw1 * r1[w1]);
  }
}

// Work item: one input row, i in [0, planes * in_h), split as i = plane * in_h + h. For each w,
// sums weight_h(oh) * sum over ow of weight_w(ow) * dy[oh, ow] over the outputs that sample it
// (interp_cover, increasing order); pixels outside the cropped region get 0. Writes
// dx[i * in_w + w] (=). GATHER: the adjoint of interp_forward without atomics.
template <class T>
CREMA_HD inline void interp_backward(int64_t i, const InterpArgs<T>& a, const T* dy, T* dx) {
  const int64_t h = i % a.in_h;
  const int64_t plane = i / a.in_h;
  T* dxr = dx + i * a.in_w;
  const int64_t sh = h - a.crop_y;
  if (sh < 0 || sh >= a.eff_h) {
    for (int64_t w = 0; w < a.in_w; ++w) dxr[w] = T(0);
    return;
  }
  int64_t oh0, oh1;
  interp_cover(sh, a.rh, a.eff_h, a.out_h, &oh0, &oh1);
  const T* dyp = dy + plane * a.out_h * a.out_w;
  for (int64_t w = 0; w < a.in_w; ++w) {
    const int64_t sw = w - a.crop_x;
    if (sw < 0 || sw >= a.eff_w) {
      dxr[w] = T(0);
      continue;
    }
    int64_t ow0, ow1;
    interp_cover(sw, a.rw, a.eff_w, a.out_w, &ow0, &ow1);
    T sum = T(0);
    for (int64_t oh = oh0; oh < oh1; ++oh) {
      T row = T(0);
      for (int64_t ow = ow0; ow < ow1; ++ow)
        row += interp_weight(ow, sw, a.rw, a.eff_w) * dyp[oh * a.out_w + ow];
      sum += interp_weight(oh, sh, a.rh, a.eff_h) * row;
    }
    dxr[w] = sum;
  }
}

}  // namespace crema::kernels

namespace crema::cuda {

/// Launchers of the bodies above (cuda_kernels/interp.cu; CUDA builds only).
template <class T>
void launch_interp_forward(Stream s, int64_t n, const kernels::InterpArgs<T>& a, const T* x, T* y);
template <class T>
void launch_interp_backward(Stream s, int64_t n, const kernels::InterpArgs<T>& a, const T* dy,
                            T* dx);

}  // namespace crema::cuda
