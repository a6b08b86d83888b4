/// Broadcast scale kernel bodies (Caffe's Scale layer).
#pragma once

#include <cstdint>

#include "core/hd.h"
#include "cuda_kernels/bias.h"
#include "cuda_kernels/launch.h"

namespace crema::kernels {

/// x * s + b, the arithmetic of both forms of scale_forward (b = 0 when there is no bias term:
/// x * s + 0 is x * s exactly, except that -0 becomes +0).
template <class T>
CREMA_HD inline T scale_value(T x, T s, T b) {
  return x * s + b;
}

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
  const T c = b != nullptr ? b[d] : T(0);
  for (int64_t j = 0; j < a.inner; ++j) dst[j] = scale_value(src[j], v, c);
}

/// The element form of scale_forward, which the GPU launches (neighbouring threads read
/// neighbouring addresses, where one thread per row strides through memory). Work item e in
/// [0, outer * dim * inner), d = (e / inner) % dim: y[e] = x[e] * s[d] (+ b[d]). GATHER; y may
/// alias x. Same arithmetic as the row form (a test checks the two agree bit for bit on the CPU).
template <class T>
CREMA_HD inline void scale_forward_element(int64_t e, const BroadcastArgs& a, const T* x,
                                           const T* s, const T* b, T* y) {
  const int64_t d = (e / a.inner) % a.dim;
  y[e] = scale_value(x[e], s[d], b != nullptr ? b[d] : T(0));
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
void launch_scale_forward_element(Stream s, int64_t n, const kernels::BroadcastArgs& a, const T* x,
                                  const T* sc, const T* b, T* y);
template <class T>
void launch_scale_param_backward(Stream s, int64_t n, const kernels::BroadcastArgs& a, const T* dy,
                                 const T* x, T* ds, bool accumulate);

}  // namespace crema::cuda
