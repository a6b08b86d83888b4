/// Kernel bodies of SoftmaxWithLoss (the softmax itself is cuda_kernels/softmax.h).
#pragma once

#include <cfloat>
#include <cmath>
#include <cstdint>

#include "core/hd.h"
#include "cuda_kernels/launch.h"
#include "cuda_kernels/class_label.h"

namespace crema::kernels {

/// Probabilities viewed as (outer, channels, inner); one label per (outer, inner) position.
struct SoftmaxLossArgs {
  int64_t outer = 0;
  int64_t channels = 0;
  int64_t inner = 0;
  bool has_ignore_label = false;
  int ignore_label = 0;
};

/// Per-position loss -log(max(p[label], FLT_MIN)).
/// Work item i in [0, outer * inner): o = i / inner, s = i % inner; label[i] is the label of
/// position (o, s). Writes loss[i] (0 unless the label is a class) and state[i] (the decoded
/// label: class index, kLabelIgnored or kLabelInvalid): GATHER. The host sums loss in a fixed
/// order and reports the first kLabelInvalid.
template <class T>
CREMA_HD inline void softmax_loss_forward(int64_t i, const SoftmaxLossArgs& a, const T* prob,
                                          const T* label, T* loss, T* state) {
  const int64_t k = decode_label(label[i], a.channels, a.has_ignore_label, a.ignore_label);
  state[i] = static_cast<T>(k);
  loss[i] = T(0);
  if (k < 0) return;
  const int64_t o = i / a.inner, s = i % a.inner;
  const T p = prob[(o * a.channels + k) * a.inner + s];
  loss[i] = -std::log(hd::max(p, static_cast<T>(FLT_MIN)));
}

/// dx = scale * (p - onehot(label)) over one position's slice; zero where the label is not a
/// class. Work item i as in softmax_loss_forward; writes dx on that slice only: GATHER.
template <class T>
CREMA_HD inline void softmax_loss_backward(int64_t i, const SoftmaxLossArgs& a, const T* prob,
                                           const T* label, T scale, T* dx) {
  const int64_t k = decode_label(label[i], a.channels, a.has_ignore_label, a.ignore_label);
  const int64_t o = i / a.inner, s = i % a.inner;
  const int64_t base = o * a.channels * a.inner + s;
  for (int64_t c = 0; c < a.channels; ++c) {
    const int64_t j = base + c * a.inner;
    dx[j] = k < 0 ? T(0) : scale * (prob[j] - (c == k ? T(1) : T(0)));
  }
}

}  // namespace crema::kernels

namespace crema::cuda {

// CUDA launchers of the bodies above (cuda_kernels/softmax_loss.cu); CUDA builds only.
template <class T>
void launch_softmax_loss_forward(Stream s, int64_t n, const kernels::SoftmaxLossArgs& a,
                                 const T* prob, const T* label, T* loss, T* state);
template <class T>
void launch_softmax_loss_backward(Stream s, int64_t n, const kernels::SoftmaxLossArgs& a,
                                  const T* prob, const T* label, T scale, T* dx);

}  // namespace crema::cuda
