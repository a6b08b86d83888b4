/// ELU kernel bodies (Caffe's ELU: y = x for x > 0, alpha * (exp(x) - 1) otherwise).
#pragma once

#include <cmath>
#include <cstdint>

#include "core/hd.h"
#include "cuda_kernels/launch.h"

namespace crema::kernels {

template <class T>
struct EluArgs {
  T alpha;
};

// Work item i: one element. Writes y[i] = x > 0 ? x : alpha * expm1(x) (expm1 keeps precision
// near 0, where exp(x) - 1 cancels). GATHER. y may alias x (in-place).
template <class T>
CREMA_HD inline void elu_forward(int64_t i, const EluArgs<T>& a, const T* x, T* y) {
  const T v = x[i];
  y[i] = v > T(0) ? v : a.alpha * std::expm1(v);
}

// Work item i: one element. Reads v[i] (the input, or the output when in-place: for alpha >= 0
// both are > 0 exactly when x > 0), the output y[i] and dy[i]; writes
// dx[i] = dy * (x > 0 ? 1 : y + alpha), since d/dx alpha * (exp(x) - 1) = y + alpha. GATHER.
// dx may alias dy (in-place).
template <class T>
CREMA_HD inline void elu_backward(int64_t i, const EluArgs<T>& a, const T* v, const T* y,
                                  const T* dy, T* dx) {
  dx[i] = v[i] > T(0) ? dy[i] : dy[i] * (y[i] + a.alpha);
}

}  // namespace crema::kernels

namespace crema::cuda {

/// Launchers of the bodies above (cuda_kernels/elu.cu; CUDA builds only).
template <class T>
void launch_elu_forward(Stream s, int64_t n, const kernels::EluArgs<T>& a, const T* x, T* y);
template <class T>
void launch_elu_backward(Stream s, int64_t n, const kernels::EluArgs<T>& a, const T* v, const T* y,
                         const T* dy, T* dx);

}  // namespace crema::cuda
