/// BNLL kernel bodies (Caffe's BNLL, "binomial normal log likelihood": y = log(1 + exp(x))).
#pragma once

#include <cmath>
#include <cstdint>

#include "core/hd.h"
#include "cuda_kernels/launch.h"

namespace crema::kernels {

// Work item i: one element. Writes y[i] = log(1 + exp(x)), evaluated as x + log1p(exp(-x)) for
// x > 0 and log1p(exp(x)) otherwise, so exp never overflows and small results keep their
// precision. GATHER. y may alias x (in-place).
template <class T>
CREMA_HD inline void bnll_forward(int64_t i, const T* x, T* y) {
  const T v = x[i];
  y[i] = v > T(0) ? v + std::log1p(std::exp(-v)) : std::log1p(std::exp(v));
}

// Work item i: one element. Reads the output y[i] and dy[i]; writes dx[i] = dy * sigmoid(x),
// with sigmoid(x) = 1 - exp(-y) = -expm1(-y) (exact since exp(-y) = 1 / (1 + exp(x))): no
// overflow, full precision for tiny y, and in-place safe because x is not read. GATHER.
// dx may alias dy (in-place).
template <class T>
CREMA_HD inline void bnll_backward(int64_t i, const T* y, const T* dy, T* dx) {
  dx[i] = -std::expm1(-y[i]) * dy[i];
}

}  // namespace crema::kernels

namespace crema::cuda {

/// Launchers of the bodies above (cuda_kernels/bnll.cu; CUDA builds only).
template <class T>
void launch_bnll_forward(Stream s, int64_t n, const T* x, T* y);
template <class T>
void launch_bnll_backward(Stream s, int64_t n, const T* y, const T* dy, T* dx);

}  // namespace crema::cuda
