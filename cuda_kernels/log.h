/// Log kernel bodies (Caffe's Log: y = log_base(shift + scale * x)).
#pragma once

#include <cmath>
#include <cstdint>

#include "core/hd.h"
#include "cuda_kernels/launch.h"

namespace crema::kernels {

/// y = base_scale * ln(shift + scale * x) with base_scale = 1 / ln(base) (1 for base e).
template <class T>
struct LogArgs {
  T scale, shift, base_scale;
};

// Work item i: one element. Writes y[i] = base_scale * ln(shift + scale * x[i]). GATHER.
template <class T>
CREMA_HD inline void log_forward(int64_t i, const LogArgs<T>& a, const T* x, T* y) {
  y[i] = a.base_scale * std::log(a.shift + a.scale * x[i]);
}

// Work item i: one element. Reads the input x[i] and dy[i]; writes
// dx[i] = dy * scale * base_scale / (shift + scale * x). GATHER. Needs the input, so the layer
// never runs in-place.
template <class T>
CREMA_HD inline void log_backward(int64_t i, const LogArgs<T>& a, const T* x, const T* dy, T* dx) {
  dx[i] = dy[i] * (a.scale * a.base_scale) / (a.shift + a.scale * x[i]);
}

}  // namespace crema::kernels

namespace crema::cuda {

/// Launchers of the bodies above (cuda_kernels/log.cu; CUDA builds only).
template <class T>
void launch_log_forward(Stream s, int64_t n, const kernels::LogArgs<T>& a, const T* x, T* y);
template <class T>
void launch_log_backward(Stream s, int64_t n, const kernels::LogArgs<T>& a, const T* x, const T* dy,
                         T* dx);

}  // namespace crema::cuda
