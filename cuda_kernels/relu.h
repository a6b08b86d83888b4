/// ReLU kernel bodies (Caffe's ReLU with a leaky negative_slope).
#pragma once

#include <cstdint>

#include "core/hd.h"
#include "cuda_kernels/launch.h"

namespace crema::kernels {

template <class T>
struct ReluArgs {
  T negative_slope;
};

// Work item i: one element. Reads x[i], writes y[i] = x > 0 ? x : slope * x. GATHER.
// y may alias x (in-place).
template <class T>
CREMA_HD inline void relu_forward(int64_t i, const ReluArgs<T>& a, const T* x, T* y) {
  const T v = x[i];
  y[i] = v > T(0) ? v : a.negative_slope * v;
}

// Work item i: one element. Reads v[i] (the input, or the output when in-place: for
// negative_slope >= 0 both have the same sign) and dy[i]; writes dx[i]. GATHER.
// dx may alias dy (in-place).
template <class T>
CREMA_HD inline void relu_backward(int64_t i, const ReluArgs<T>& a, const T* v, const T* dy,
                                   T* dx) {
  dx[i] = v[i] > T(0) ? dy[i] : a.negative_slope * dy[i];
}

}  // namespace crema::kernels

namespace crema::cuda {

/// Launchers of the bodies above (cuda_kernels/relu.cu; CUDA builds only).
template <class T>
void launch_relu_forward(Stream s, int64_t n, const kernels::ReluArgs<T>& a, const T* x, T* y);
template <class T>
void launch_relu_backward(Stream s, int64_t n, const kernels::ReluArgs<T>& a, const T* v,
                          const T* dy, T* dx);

}  // namespace crema::cuda
