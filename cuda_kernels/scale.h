/// Broadcast scale kernel bodies (Caffe's Scale layer).
#pragma once

#include <cstdint>

#include "core/hd.h"
#include "cuda_kernels/bias.h"
#include "cuda_kernels/launch.h"

namespace crema::kernels {

/// Work item: one row of `inner` elements, i in [0, outer * dim), d = i % dim. Writes
/// y[i * inner + j] = x[i * inner + j] * s[d] (+ b[d] when b is not null). GATHER; y may alias x
/// (in place). Also the input gradient: dx = dy * s with b null.
template <class T>
CREMA_HD inline void scale_forward(int64_t i, const BroadcastArgs& a, const T* x, const T* s,
                                   const T* b, T* y) {
  const int64_t d = i % a.dim;
  const T v = s[d];
  const T* src = x + i * a.inner;
  T* dst = y + i * a.inner;
  if (b != nullptr) {
    const T c = b[d];
    for (int64_t j = 0; j < a.inner; ++j) dst[j] = src[j] * v + c;
  } else {
    for (int64_t j = 0; j < a.inner; ++j) dst[j] = src[j] * v;
  }
}

/// Gradient of the scale. Work item: one scale element d in [0, dim); sums dy * x over the outer
/// and inner axes in a fixed order (o, then j), and writes ds[d] = sum, or adds it when
/// `accumulate` (parameter diffs). GATHER.
template <class T>
CREMA_HD inline void scale_param_backward(int64_t d, const BroadcastArgs& a, const T* dy,
                                          const T* x, T* ds, bool accumulate) {
  T sum = T(0);
  for (int64_t o = 0; o < a.outer; ++o) {
    const int64_t base = (o * a.dim + d) * a.inner;
    for (int64_t j = 0; j < a.inner; ++j) sum += dy[base + j] * x[base + j];
  }
  ds[d] = accumulate ? ds[d] + sum : sum;
}

}  // namespace crema::kernels

namespace crema::cuda {

/// Launchers of the bodies above (cuda_kernels/scale.cu; CUDA builds only).
template <class T>
void launch_scale_forward(Stream s, int64_t n, const kernels::BroadcastArgs& a, const T* x,
                          const T* sc, const T* b, T* y);
template <class T>
void launch_scale_param_backward(Stream s, int64_t n, const kernels::BroadcastArgs& a, const T* dy,
                                 const T* x, T* ds, bool accumulate);

}  // namespace crema::cuda
