/// Nearest-neighbour upsampling kernel bodies (integer scale per axis).
#pragma once

#include <cstdint>

#include "core/hd.h"
#include "cuda_kernels/launch.h"

namespace crema::kernels {

/// Input planes of height x width; output planes of (height * scale_h) x (width * scale_w),
/// where output (oh, ow) copies input (oh / scale_h, ow / scale_w).
struct UpsampleArgs {
  int64_t height, width;
  int64_t scale_h, scale_w;
};

// Work item: one output row, i in [0, planes * out_h), split as i = plane * out_h + oh, with
// out_h = height * scale_h. Writes y[i * out_w + ow] = x[plane, oh / scale_h, ow / scale_w].
// GATHER.
template <class T>
CREMA_HD inline void upsample_forward(int64_t i, const UpsampleArgs& a, const T* x, T* y) {
  const int64_t out_h = a.height * a.scale_h, out_w = a.width * a.scale_w;
  const int64_t oh = i % out_h;
  const int64_t plane = i / out_h;
  const T* xr = x + (plane * a.height + oh / a.scale_h) * a.width;
  T* yr = y + i * out_w;
  for (int64_t ow = 0; ow < out_w; ++ow) yr[ow] = xr[ow / a.scale_w];
}

// Work item: one input row, i in [0, planes * height), split as i = plane * height + h. For
// each w, sums dy over its scale_h x scale_w block, row-major; writes dx[i * width + w] (=).
// GATHER.
template <class T>
CREMA_HD inline void upsample_backward(int64_t i, const UpsampleArgs& a, const T* dy, T* dx) {
  const int64_t out_w = a.width * a.scale_w;
  // Row (plane, h) of the input owns output rows i * scale_h .. i * scale_h + scale_h - 1.
  const T* block = dy + i * a.scale_h * out_w;
  for (int64_t w = 0; w < a.width; ++w) {
    T sum = T(0);
    for (int64_t dh = 0; dh < a.scale_h; ++dh)
      for (int64_t dw = 0; dw < a.scale_w; ++dw) sum += block[dh * out_w + w * a.scale_w + dw];
    dx[i * a.width + w] = sum;
  }
}

}  // namespace crema::kernels

namespace crema::cuda {

/// Launchers of the bodies above (cuda_kernels/upsample.cu; CUDA builds only).
template <class T>
void launch_upsample_forward(Stream s, int64_t n, const kernels::UpsampleArgs& a, const T* x, T* y);
template <class T>
void launch_upsample_backward(Stream s, int64_t n, const kernels::UpsampleArgs& a, const T* dy,
                              T* dx);

}  // namespace crema::cuda
