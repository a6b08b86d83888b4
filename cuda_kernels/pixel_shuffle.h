/// Pixel shuffle (depth-to-space) and zero-upsampling kernel bodies, with their inverses.
#pragma once

#include <cstdint>

#include "core/hd.h"
#include "cuda_kernels/launch.h"

namespace crema::kernels {

/// Output planes of (height * r) x (width * r); `channels` counts output channels, so the
/// shuffle input has channels * r * r of them and the zero-upsample input has `channels`.
struct PixelShuffleArgs {
  int64_t channels, height, width;  // input plane height x width
  int64_t r;
};

// Work item: one output row, i in [0, N * channels * height * r), i = (n * channels + c) *
// (height * r) + oh. Writes y[n, c, oh, ow] = x[n, c * r * r + (oh % r) * r + ow % r, oh / r,
// ow / r] for every ow (torch.nn.functional.pixel_shuffle). GATHER.
template <class T>
CREMA_HD inline void pixel_shuffle_forward(int64_t i, const PixelShuffleArgs& a, const T* x, T* y) {
  const int64_t out_h = a.height * a.r, out_w = a.width * a.r;
  const int64_t oh = i % out_h, nc = i / out_h;
  const int64_t h = oh / a.r, dh = oh % a.r;
  // Input channel nc * r * r + dh * r + dw, row h.
  const T* xr = x + ((nc * a.r + dh) * a.r * a.height + h) * a.width;
  const int64_t plane = a.height * a.width;
  T* yr = y + i * out_w;
  for (int64_t w = 0; w < a.width; ++w)
    for (int64_t dw = 0; dw < a.r; ++dw) yr[w * a.r + dw] = xr[dw * plane + w];
}

// Work item: one input row, i in [0, N * channels * r * r * height), i = (n * channels * r * r
// + k) * height + h with k = c * r * r + dh * r + dw. Writes dx[i * width + w] = dy[n, c,
// h * r + dh, w * r + dw] (the inverse permutation). GATHER.
template <class T>
CREMA_HD inline void pixel_shuffle_backward(int64_t i, const PixelShuffleArgs& a, const T* dy,
                                            T* dx) {
  const int64_t out_w = a.width * a.r;
  const int64_t h = i % a.height, nk = i / a.height;
  const int64_t dw = nk % a.r, dh = (nk / a.r) % a.r, nc = nk / (a.r * a.r);
  const T* dyr = dy + ((nc * a.height + h) * a.r + dh) * out_w + dw;
  T* dxr = dx + i * a.width;
  for (int64_t w = 0; w < a.width; ++w) dxr[w] = dyr[w * a.r];
}

// Work item: one output row, i in [0, N * channels * height * r), i = (n * channels + c) *
// (height * r) + oh. Writes y[n, c, oh, ow] = x[n, c, oh / r, ow / r] where oh and ow are
// multiples of r, else 0 (SPMC's zero_upsampling: each value at the top-left of its r x r
// block). GATHER.
template <class T>
CREMA_HD inline void pixel_shuffle_zero_forward(int64_t i, const PixelShuffleArgs& a, const T* x,
                                                T* y) {
  const int64_t out_h = a.height * a.r, out_w = a.width * a.r;
  const int64_t oh = i % out_h, nc = i / out_h;
  T* yr = y + i * out_w;
  for (int64_t ow = 0; ow < out_w; ++ow) yr[ow] = T(0);
  if (oh % a.r != 0) return;
  const T* xr = x + (nc * a.height + oh / a.r) * a.width;
  for (int64_t w = 0; w < a.width; ++w) yr[w * a.r] = xr[w];
}

// Work item: one input row, i in [0, N * channels * height), i = (n * channels + c) * height
// + h. Writes dx[i * width + w] = dy[n, c, h * r, w * r] (strided gather). GATHER.
template <class T>
CREMA_HD inline void pixel_shuffle_zero_backward(int64_t i, const PixelShuffleArgs& a, const T* dy,
                                                 T* dx) {
  const int64_t out_w = a.width * a.r;
  const int64_t h = i % a.height, nc = i / a.height;
  const T* dyr = dy + (nc * a.height + h) * a.r * out_w;
  T* dxr = dx + i * a.width;
  for (int64_t w = 0; w < a.width; ++w) dxr[w] = dyr[w * a.r];
}

}  // namespace crema::kernels

namespace crema::cuda {

/// Launchers of the bodies above (cuda_kernels/pixel_shuffle.cu; CUDA builds only).
template <class T>
void launch_pixel_shuffle_forward(Stream s, int64_t n, const kernels::PixelShuffleArgs& a,
                                  const T* x, T* y);
template <class T>
void launch_pixel_shuffle_backward(Stream s, int64_t n, const kernels::PixelShuffleArgs& a,
                                   const T* dy, T* dx);
template <class T>
void launch_pixel_shuffle_zero_forward(Stream s, int64_t n, const kernels::PixelShuffleArgs& a,
                                       const T* x, T* y);
template <class T>
void launch_pixel_shuffle_zero_backward(Stream s, int64_t n, const kernels::PixelShuffleArgs& a,
                                        const T* dy, T* dx);

}  // namespace crema::cuda
