/// AbsVal kernel bodies (Caffe's AbsVal: y = |x|).
#pragma once

#include <cmath>
#include <cstdint>

#include "core/hd.h"
#include "cuda_kernels/launch.h"

namespace crema::kernels {

// Work item i: one element. Writes y[i] = |x[i]|. GATHER.
template <class T>
CREMA_HD inline void absval_forward(int64_t i, const T* x, T* y) {
  y[i] = std::fabs(x[i]);
}

// Work item i: one element. Writes dx[i] = sign(x[i]) * dy[i], with sign(0) = 0 as Caffe's
// caffe_cpu_sign. GATHER. Needs the input, so the layer never runs in-place.
template <class T>
CREMA_HD inline void absval_backward(int64_t i, const T* x, const T* dy, T* dx) {
  const T v = x[i];
  const T sign = static_cast<T>((T(0) < v) - (v < T(0)));
  dx[i] = sign * dy[i];
}

}  // namespace crema::kernels

namespace crema::cuda {

/// Launchers of the bodies above (cuda_kernels/absval.cu; CUDA builds only).
template <class T>
void launch_absval_forward(Stream s, int64_t n, const T* x, T* y);
template <class T>
void launch_absval_backward(Stream s, int64_t n, const T* x, const T* dy, T* dx);

}  // namespace crema::cuda
