/// im2col / col2im kernel bodies for 2-d convolution over a chunk of images (one body, CPU and
/// CUDA launchers).
#pragma once

#include <cstdint>

#include "core/hd.h"

namespace crema::kernels {

/// Geometry of im2col over `num` images: the images are num x C x H x W, the column matrix is
/// (C * kernel_h * kernel_w) x (num * out_h * out_w), both row-major, so one GEMM covers the
/// whole chunk.
struct Im2colArgs {
  int64_t channels, height, width;
  int64_t kernel_h, kernel_w;
  int64_t pad_h, pad_w;
  int64_t stride_h, stride_w;
  int64_t dilation_h, dilation_w;
  int64_t out_h, out_w;
  int64_t num;
};

/// im2col. Work item: one row of out_w column elements, i in [0, C * kh * kw * num * out_h),
/// split as i = (((c * kh + ki) * kw + kj) * num + n) * out_h + oh; a row per item keeps the
/// index divisions off the per-element path. Reads pixels (n, c, oh * s_h - p_h + ki * d_h,
/// ow * s_w - p_w + kj * d_w), or 0 in the padding, and writes col[i * out_w + ow]. GATHER.
template <class T>
CREMA_HD inline void im2col_forward(int64_t i, const Im2colArgs& a, const T* im, T* col) {
  const int64_t oh = i % a.out_h;
  int64_t r = i / a.out_h;
  const int64_t n = r % a.num;
  r /= a.num;
  const int64_t kj = r % a.kernel_w;
  r /= a.kernel_w;
  const int64_t ki = r % a.kernel_h;
  const int64_t c = r / a.kernel_h;
  const int64_t h = oh * a.stride_h - a.pad_h + ki * a.dilation_h;
  T* out = col + i * a.out_w;
  if (h < 0 || h >= a.height) {
    for (int64_t ow = 0; ow < a.out_w; ++ow) out[ow] = T(0);
    return;
  }
  const T* row = im + ((n * a.channels + c) * a.height + h) * a.width;
  for (int64_t ow = 0; ow < a.out_w; ++ow) {
    const int64_t w = ow * a.stride_w - a.pad_w + kj * a.dilation_w;
    out[ow] = (w >= 0 && w < a.width) ? row[w] : T(0);
  }
}

/// col2im, the adjoint of im2col. Work item: one image row, i in [0, num * C * H), split as
/// i = (n * C + c) * H + h. For each pixel w of the row, sums in a fixed (ki, kj) order the
/// column entries that im2col_forward copied from it: those (ki, kj, oh, ow) with
/// oh * s_h = h + p_h - ki * d_h and ow * s_w = w + p_w - kj * d_w inside the output. Writes
/// im[i * W + w] (=, not +=). GATHER, so the result does not depend on the thread count.
template <class T>
CREMA_HD inline void im2col_backward(int64_t i, const Im2colArgs& a, const T* col, T* im) {
  const int64_t h = i % a.height;
  const int64_t r = i / a.height;
  const int64_t c = r % a.channels;
  const int64_t n = r / a.channels;
  const int64_t out_hw = a.out_h * a.out_w;
  T* out = im + i * a.width;
  for (int64_t w = 0; w < a.width; ++w) out[w] = T(0);
  for (int64_t ki = 0; ki < a.kernel_h; ++ki) {
    const int64_t hs = h + a.pad_h - ki * a.dilation_h;
    if (hs < 0) break;  // hs only decreases with ki
    if (a.stride_h > 1 && hs % a.stride_h != 0) continue;
    const int64_t oh = hs / a.stride_h;
    if (oh >= a.out_h) continue;
    for (int64_t kj = 0; kj < a.kernel_w; ++kj) {
      const int64_t row = (c * a.kernel_h + ki) * a.kernel_w + kj;
      const T* src = col + (row * a.num + n) * out_hw + oh * a.out_w;
      const int64_t shift = a.pad_w - kj * a.dilation_w;  // ws = w + shift
      for (int64_t w = 0; w < a.width; ++w) {
        const int64_t ws = w + shift;
        if (ws < 0) continue;
        if (a.stride_w > 1 && ws % a.stride_w != 0) continue;
        const int64_t ow = ws / a.stride_w;
        if (ow < a.out_w) out[w] += src[ow];
      }
    }
  }
}

/// Swaps the two leading axes of a (d0, d1, inner) array into (d1, d0, inner): moves GEMM output
/// (channels, images x pixels) to the N x C x H x W layout and back. Work item: one element of
/// the destination, i = (b * d0 + a) * inner + p, read from src[(a * d1 + b) * inner + p].
/// GATHER.
template <class T>
CREMA_HD inline void swap_leading_axes(int64_t i, int64_t d0, int64_t d1, int64_t inner,
                                       const T* src, T* dst) {
  const int64_t p = i % inner;
  const int64_t r = i / inner;
  const int64_t a = r % d0;
  const int64_t b = r / d0;
  dst[i] = src[(a * d1 + b) * inner + p];
}

}  // namespace crema::kernels
