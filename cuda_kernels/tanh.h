/// TanH kernel bodies (Caffe's TanH).
#pragma once

#include <cmath>
#include <cstdint>

#include "core/hd.h"

namespace crema::kernels {

// Work item i: one element. Writes y[i] = tanh(x[i]). GATHER. y may alias x (in-place).
template <class T>
CREMA_HD inline void tanh_forward(int64_t i, const T* x, T* y) {
  y[i] = std::tanh(x[i]);
}

// Work item i: one element. Reads the output y[i] and dy[i]; writes dx[i] = dy * (1 - y^2).
// GATHER. dx may alias dy (in-place).
template <class T>
CREMA_HD inline void tanh_backward(int64_t i, const T* y, const T* dy, T* dx) {
  const T t = y[i];
  dx[i] = dy[i] * (T(1) - t * t);
}

}  // namespace crema::kernels
