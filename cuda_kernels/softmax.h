/// Kernel bodies of Softmax along one axis (CPU via parallel_for; CUDA-ready).
#pragma once

#include <cmath>
#include <cstdint>

#include "core/hd.h"
#include "cuda_kernels/launch.h"

namespace crema::kernels {

/// Softmax over the middle axis of an (outer, channels, inner) view of the tensor.
struct SoftmaxArgs {
  int64_t outer = 0;     ///< product of the axes before the softmax axis
  int64_t channels = 0;  ///< size of the softmax axis
  int64_t inner = 0;     ///< product of the axes after the softmax axis
};

/// y = exp(x - max) / sum exp(x - max) over one slice.
/// Work item i in [0, outer * inner): o = i / inner, s = i % inner; the slice is
/// x[(o * channels + c) * inner + s] for c in [0, channels). Reads x, writes y on that slice
/// only: GATHER. Each x element is read before its y element is written, so x == y is allowed.
template <class T>
CREMA_HD inline void softmax_forward(int64_t i, const SoftmaxArgs& a, const T* x, T* y) {
  const int64_t o = i / a.inner, s = i % a.inner;
  const int64_t base = o * a.channels * a.inner + s;
  T m = x[base];
  for (int64_t c = 1; c < a.channels; ++c) m = hd::max(m, x[base + c * a.inner]);
  T sum = 0;
  for (int64_t c = 0; c < a.channels; ++c) {
    const int64_t k = base + c * a.inner;
    y[k] = std::exp(x[k] - m);
    sum += y[k];
  }
  for (int64_t c = 0; c < a.channels; ++c) y[base + c * a.inner] /= sum;
}

/// dx = (dy - <dy, y>) * y over one slice, <.,.> taken along the softmax axis.
/// Work item i as in softmax_forward. Reads y and dy, writes dx on that slice only: GATHER.
/// dy == dx is allowed (the dot is taken before any dx is written).
template <class T>
CREMA_HD inline void softmax_backward(int64_t i, const SoftmaxArgs& a, const T* y, const T* dy,
                                      T* dx) {
  const int64_t o = i / a.inner, s = i % a.inner;
  const int64_t base = o * a.channels * a.inner + s;
  T dot = 0;
  for (int64_t c = 0; c < a.channels; ++c) dot += dy[base + c * a.inner] * y[base + c * a.inner];
  for (int64_t c = 0; c < a.channels; ++c) {
    const int64_t k = base + c * a.inner;
    dx[k] = (dy[k] - dot) * y[k];
  }
}

}  // namespace crema::kernels

namespace crema::cuda {

// CUDA launchers of the bodies above (cuda_kernels/softmax.cu; the Softmax layer itself uses
// cuDNN, SoftmaxWithLoss and DenseCRF these bodies). CUDA builds only.
template <class T>
void launch_softmax_forward(Stream s, int64_t n, const kernels::SoftmaxArgs& a, const T* x, T* y);
template <class T>
void launch_softmax_backward(Stream s, int64_t n, const kernels::SoftmaxArgs& a, const T* y,
                             const T* dy, T* dx);

}  // namespace crema::cuda
