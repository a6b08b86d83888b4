/// Sigmoid kernel bodies (Caffe's Sigmoid).
#pragma once

#include <cmath>
#include <cstdint>

#include "core/hd.h"

namespace crema::kernels {

// Work item i: one element. Writes y[i] = 1 / (1 + exp(-x[i])), computed as
// 0.5 * tanh(0.5 x) + 0.5, which neither overflows nor loses precision for large |x|. GATHER.
// y may alias x (in-place).
template <class T>
CREMA_HD inline void sigmoid_forward(int64_t i, const T* x, T* y) {
  y[i] = T(0.5) * std::tanh(T(0.5) * x[i]) + T(0.5);
}

// Work item i: one element. Reads the output y[i] and dy[i]; writes dx[i] = dy * y * (1 - y).
// GATHER. dx may alias dy (in-place).
template <class T>
CREMA_HD inline void sigmoid_backward(int64_t i, const T* y, const T* dy, T* dx) {
  const T s = y[i];
  dx[i] = dy[i] * s * (T(1) - s);
}

}  // namespace crema::kernels
