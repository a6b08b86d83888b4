/// Exp kernel bodies (Caffe's Exp: y = base^(shift + scale * x)).
#pragma once

#include <cmath>
#include <cstdint>

#include "core/hd.h"
#include "cuda_kernels/launch.h"

namespace crema::kernels {

/// y = outer_scale * exp(inner_scale * x) with inner_scale = ln(base) * scale and
/// outer_scale = base^shift.
template <class T>
struct ExpArgs {
  T inner_scale, outer_scale;
};

// Work item i: one element. Writes y[i] = outer_scale * exp(inner_scale * x[i]). GATHER.
// y may alias x (in-place).
template <class T>
CREMA_HD inline void exp_forward(int64_t i, const ExpArgs<T>& a, const T* x, T* y) {
  y[i] = a.outer_scale * std::exp(a.inner_scale * x[i]);
}

// Work item i: one element. Reads the output y[i] and dy[i]; writes
// dx[i] = dy * y * inner_scale. GATHER. dx may alias dy (in-place).
template <class T>
CREMA_HD inline void exp_backward(int64_t i, const ExpArgs<T>& a, const T* y, const T* dy, T* dx) {
  dx[i] = dy[i] * y[i] * a.inner_scale;
}

}  // namespace crema::kernels

namespace crema::cuda {

/// Launchers of the bodies above (cuda_kernels/exp.cu; CUDA builds only).
template <class T>
void launch_exp_forward(Stream s, int64_t n, const kernels::ExpArgs<T>& a, const T* x, T* y);
template <class T>
void launch_exp_backward(Stream s, int64_t n, const kernels::ExpArgs<T>& a, const T* y, const T* dy,
                         T* dx);

}  // namespace crema::cuda
