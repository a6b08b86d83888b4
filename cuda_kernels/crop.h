/// Kernel bodies of Crop: a window of bottom 0 at per-axis offsets.
#pragma once

#include <cstdint>

#include "core/hd.h"
#include "cuda_kernels/launch.h"

namespace crema::kernels {

/// Most axes a Crop supports (the arrays below are fixed so the struct stays trivially copyable).
inline constexpr int kCropMaxAxes = 8;

/// The window: top_shape[d] elements from offset[d] along each axis d of the bottom
/// (offset 0 and top_shape = bottom_shape on the axes before the crop axis).
struct CropArgs {
  int num_axes = 0;
  int64_t bottom_shape[kCropMaxAxes] = {};
  int64_t top_shape[kCropMaxAxes] = {};
  int64_t offset[kCropMaxAxes] = {};
};

/// y[i] = x[window element i]. Work item i in [0, top count): i splits row-major by top_shape
/// into coordinates c[d]; the bottom element is at coordinates c[d] + offset[d]. Writes y[i]
/// only: GATHER.
template <class T>
CREMA_HD inline void crop_forward(int64_t i, const CropArgs& a, const T* x, T* y) {
  int64_t rest = i, index = 0, stride = 1;
  for (int d = a.num_axes - 1; d >= 0; --d) {
    const int64_t c = rest % a.top_shape[d];
    rest /= a.top_shape[d];
    index += (c + a.offset[d]) * stride;
    stride *= a.bottom_shape[d];
  }
  y[i] = x[index];
}

/// dx[j] = dy[the top element at j] inside the window, 0 outside. Work item j in
/// [0, bottom count): j splits row-major by bottom_shape into c[d]; it is inside when
/// offset[d] <= c[d] < offset[d] + top_shape[d] on every axis. Writes dx[j] only: GATHER.
template <class T>
CREMA_HD inline void crop_backward(int64_t j, const CropArgs& a, const T* dy, T* dx) {
  int64_t rest = j, index = 0, stride = 1;
  for (int d = a.num_axes - 1; d >= 0; --d) {
    const int64_t c = rest % a.bottom_shape[d] - a.offset[d];
    rest /= a.bottom_shape[d];
    if (c < 0 || c >= a.top_shape[d]) {
      dx[j] = T(0);
      return;
    }
    index += c * stride;
    stride *= a.top_shape[d];
  }
  dx[j] = dy[index];
}

}  // namespace crema::kernels

namespace crema::cuda {

/// Launchers of the bodies above (cuda_kernels/crop.cu; CUDA builds only).
template <class T>
void launch_crop_forward(Stream s, int64_t n, const kernels::CropArgs& a, const T* x, T* y);
template <class T>
void launch_crop_backward(Stream s, int64_t n, const kernels::CropArgs& a, const T* dy, T* dx);

}  // namespace crema::cuda
