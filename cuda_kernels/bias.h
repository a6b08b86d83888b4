/// Broadcast bias kernel bodies (Caffe's Bias layer; also the bias of Scale and Deconvolution).
#pragma once

#include <cstdint>

#include "core/hd.h"
#include "cuda_kernels/launch.h"

namespace crema::kernels {

/// A tensor seen as (outer, dim, inner): the bias (or scale) has `dim` elements and is broadcast
/// over the outer and inner axes.
struct BroadcastArgs {
  int64_t outer, dim, inner;
};

/// Work item: one row of `inner` elements, i in [0, outer * dim), d = i % dim. Writes
/// y[i * inner + j] = x[i * inner + j] + b[d]. GATHER; y may alias x (in place).
template <class T>
CREMA_HD inline void bias_forward(int64_t i, const BroadcastArgs& a, const T* x, const T* b, T* y) {
  const T v = b[i % a.dim];
  const T* src = x + i * a.inner;
  T* dst = y + i * a.inner;
  for (int64_t j = 0; j < a.inner; ++j) dst[j] = src[j] + v;
}

/// The element form of bias_forward, which the GPU launches (neighbouring threads read
/// neighbouring addresses, where one thread per row strides through memory). Work item e in
/// [0, outer * dim * inner), d = (e / inner) % dim: y[e] = x[e] + b[d]. GATHER; y may alias x.
/// Same arithmetic as the row form (a test checks the two agree bit for bit on the CPU).
template <class T>
CREMA_HD inline void bias_forward_element(int64_t e, const BroadcastArgs& a, const T* x, const T* b,
                                          T* y) {
  y[e] = x[e] + b[(e / a.inner) % a.dim];
}

/// Gradient of the bias. Work item: one bias element d in [0, dim); sums dy over the outer and
/// inner axes in a fixed order (o, then j), and writes db[d] = sum, or adds it when
/// `accumulate` (parameter diffs). GATHER.
template <class T>
CREMA_HD inline void bias_param_backward(int64_t d, const BroadcastArgs& a, const T* dy, T* db,
                                         bool accumulate) {
  T sum = T(0);
  for (int64_t o = 0; o < a.outer; ++o) {
    const T* row = dy + (o * a.dim + d) * a.inner;
    for (int64_t j = 0; j < a.inner; ++j) sum += row[j];
  }
  db[d] = accumulate ? db[d] + sum : sum;
}

}  // namespace crema::kernels

namespace crema::cuda {

/// Launchers of the bodies above (cuda_kernels/bias.cu; CUDA builds only).
template <class T>
void launch_bias_forward_element(Stream s, int64_t n, const kernels::BroadcastArgs& a, const T* x,
                                 const T* b, T* y);
template <class T>
void launch_bias_param_backward(Stream s, int64_t n, const kernels::BroadcastArgs& a, const T* dy,
                                T* db, bool accumulate);

}  // namespace crema::cuda
