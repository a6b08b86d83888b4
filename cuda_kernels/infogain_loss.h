/// Kernel bodies of InfogainLoss: softmax cross entropy weighted by a row of the infogain
/// matrix H (the softmax itself is cuda_kernels/softmax.h).
#pragma once

#include <cmath>
#include <cstdint>

#include "core/hd.h"
#include "cuda_kernels/class_label.h"
#include "cuda_kernels/launch.h"

namespace crema::kernels {

/// Probabilities viewed as (outer, channels, inner); one label per (outer, inner) position;
/// H is channels x channels.
struct InfogainLossArgs {
  int64_t outer = 0;
  int64_t channels = 0;
  int64_t inner = 0;
  bool has_ignore_label = false;
  int ignore_label = 0;
};

/// Caffe's kLOG_THRESHOLD: probabilities are clamped to it before the log.
inline constexpr double kInfogainLogThreshold = 1e-20;

/// Per-position loss -sum_l H[label, l] log(max(p_l, 1e-20)); state[i] the decoded label
/// (class index, kLabelIgnored or kLabelInvalid; loss 0 unless a class).
/// Work item i in [0, outer * inner): o = i / inner, s = i % inner; p_l is
/// prob[(o * channels + l) * inner + s]. Writes loss[i], state[i]: GATHER.
template <class T>
CREMA_HD inline void infogain_loss_forward(int64_t i, const InfogainLossArgs& a, const T* prob,
                                           const T* label, const T* h, T* loss, T* state) {
  const int64_t k = decode_label(label[i], a.channels, a.has_ignore_label, a.ignore_label);
  state[i] = static_cast<T>(k);
  T sum = 0;
  if (k >= 0) {
    const int64_t o = i / a.inner, s = i % a.inner;
    const T* p = prob + o * a.channels * a.inner + s;
    for (int64_t l = 0; l < a.channels; ++l)
      sum -= h[k * a.channels + l] *
             std::log(hd::max(p[l * a.inner], static_cast<T>(kInfogainLogThreshold)));
  }
  loss[i] = sum;
}

/// dx_l = scale * (p_l * sum_m H[label, m] - H[label, l]) over one position's slice; zero when
/// the label is not a class. Work item i as in infogain_loss_forward; writes dx on that slice
/// only: GATHER.
template <class T>
CREMA_HD inline void infogain_loss_backward(int64_t i, const InfogainLossArgs& a, const T* prob,
                                            const T* label, const T* h, T scale, T* dx) {
  const int64_t k = decode_label(label[i], a.channels, a.has_ignore_label, a.ignore_label);
  const int64_t o = i / a.inner, s = i % a.inner;
  const int64_t base = o * a.channels * a.inner + s;
  T row_sum = 0;
  if (k >= 0)
    for (int64_t l = 0; l < a.channels; ++l) row_sum += h[k * a.channels + l];
  for (int64_t l = 0; l < a.channels; ++l) {
    const int64_t j = base + l * a.inner;
    dx[j] = k < 0 ? T(0) : scale * (prob[j] * row_sum - h[k * a.channels + l]);
  }
}

}  // namespace crema::kernels

namespace crema::cuda {

// CUDA launchers of the bodies above (cuda_kernels/infogain_loss.cu); CUDA builds only.
template <class T>
void launch_infogain_loss_forward(Stream s, int64_t n, const kernels::InfogainLossArgs& a,
                                  const T* prob, const T* label, const T* h, T* loss, T* state);
template <class T>
void launch_infogain_loss_backward(Stream s, int64_t n, const kernels::InfogainLossArgs& a,
                                   const T* prob, const T* label, const T* h, T scale, T* dx);

}  // namespace crema::cuda
