/// im2col / col2im kernel bodies for 2-d convolution (one body, CPU and CUDA launchers).
#pragma once

#include <cstdint>

#include "core/hd.h"

namespace crema::kernels {

/// Geometry of one image's im2col: the image is C x H x W, the column matrix is
/// (C * kernel_h * kernel_w) x (out_h * out_w), both row-major.
struct Im2colArgs {
  int64_t channels, height, width;
  int64_t kernel_h, kernel_w;
  int64_t pad_h, pad_w;
  int64_t stride_h, stride_w;
  int64_t dilation_h, dilation_w;
  int64_t out_h, out_w;
};

/// im2col. Work item: one column element, i in [0, C * kh * kw * out_h * out_w), split as
/// i = ((c * kh + ki) * kw + kj) * (out_h * out_w) + oh * out_w + ow. Reads the image pixel
/// (c, oh * s_h - p_h + ki * d_h, ow * s_w - p_w + kj * d_w), or 0 in the padding, and writes
/// col[i]. GATHER.
template <class T>
CREMA_HD inline void im2col_forward(int64_t i, const Im2colArgs& a, const T* im, T* col) {
  const int64_t ow = i % a.out_w;
  int64_t r = i / a.out_w;
  const int64_t oh = r % a.out_h;
  r /= a.out_h;
  const int64_t kj = r % a.kernel_w;
  r /= a.kernel_w;
  const int64_t ki = r % a.kernel_h;
  const int64_t c = r / a.kernel_h;
  const int64_t h = oh * a.stride_h - a.pad_h + ki * a.dilation_h;
  const int64_t w = ow * a.stride_w - a.pad_w + kj * a.dilation_w;
  const bool inside = h >= 0 && h < a.height && w >= 0 && w < a.width;
  col[i] = inside ? im[(c * a.height + h) * a.width + w] : T(0);
}

/// col2im, the adjoint of im2col. Work item: one image pixel, i in [0, C * H * W), split as
/// i = (c * H + h) * W + w. Sums, in a fixed (ki, kj) order, the column entries that
/// im2col_forward copied from this pixel: those (ki, kj, oh, ow) with
/// oh * s_h = h + p_h - ki * d_h and ow * s_w = w + p_w - kj * d_w inside the output. Writes
/// im[i] (=, not +=). GATHER, so the result does not depend on the thread count.
template <class T>
CREMA_HD inline void im2col_backward(int64_t i, const Im2colArgs& a, const T* col, T* im) {
  const int64_t w = i % a.width;
  const int64_t r = i / a.width;
  const int64_t h = r % a.height;
  const int64_t c = r / a.height;
  const int64_t out_hw = a.out_h * a.out_w;
  T sum = T(0);
  for (int64_t ki = 0; ki < a.kernel_h; ++ki) {
    const int64_t hs = h + a.pad_h - ki * a.dilation_h;
    if (hs < 0) break;  // hs only decreases with ki
    if (hs % a.stride_h != 0) continue;
    const int64_t oh = hs / a.stride_h;
    if (oh >= a.out_h) continue;
    for (int64_t kj = 0; kj < a.kernel_w; ++kj) {
      const int64_t ws = w + a.pad_w - kj * a.dilation_w;
      if (ws < 0) break;
      if (ws % a.stride_w != 0) continue;
      const int64_t ow = ws / a.stride_w;
      if (ow >= a.out_w) continue;
      sum += col[((c * a.kernel_h + ki) * a.kernel_w + kj) * out_hw + oh * a.out_w + ow];
    }
  }
  im[i] = sum;
}

}  // namespace crema::kernels
