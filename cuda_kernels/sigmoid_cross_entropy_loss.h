/// Kernel bodies of SigmoidCrossEntropyLoss: blocked sums of the stable per-element loss, and
/// its gradient sigmoid(x) - t.
#pragma once

#include <cmath>
#include <cstdint>

#include "core/hd.h"
#include "cuda_kernels/launch.h"

namespace crema::kernels {

struct SigmoidCrossEntropyLossArgs {
  int64_t count = 0;  ///< elements in each bottom
  int64_t block = 0;  ///< elements per forward work item
  bool has_ignore_label = false;
  int ignore_label = 0;
};

/// True when target t is the ignore_label (compared exactly).
template <class T>
CREMA_HD inline bool sigmoid_ce_ignored(T t, const SigmoidCrossEntropyLossArgs& a) {
  return a.has_ignore_label && t == static_cast<T>(a.ignore_label);
}

/// -(t log s(x) + (1 - t) log(1 - s(x))) in the overflow-free form
/// max(x, 0) - x t + log(1 + exp(-|x|)), s the logistic sigmoid.
template <class T>
CREMA_HD inline double sigmoid_ce_element(T x, T t) {
  const double xd = x, td = t;
  return (xd > 0 ? xd : 0.0) - xd * td + std::log1p(std::exp(-std::fabs(xd)));
}

/// Partial loss sum and count of non-ignored targets over one block. Work item i in
/// [0, ceil(count / block)) covers elements [i * block, min(count, (i+1) * block)). Writes
/// loss[i] and valid[i]: GATHER. The host adds the partials in order, so the result does not
/// depend on the thread count.
template <class T>
CREMA_HD inline void sigmoid_ce_loss_forward(int64_t i, const SigmoidCrossEntropyLossArgs& a,
                                             const T* x, const T* t, double* loss, double* valid) {
  const int64_t begin = i * a.block, end = hd::min(a.count, begin + a.block);
  double sum = 0, n = 0;
  for (int64_t j = begin; j < end; ++j) {
    if (sigmoid_ce_ignored(t[j], a)) continue;
    sum += sigmoid_ce_element(x[j], t[j]);
    n += 1;
  }
  loss[i] = sum;
  valid[i] = n;
}

/// dx = scale * (sigmoid(x) - t), 0 where the target is ignored. Work item j in [0, count):
/// one element; GATHER.
template <class T>
CREMA_HD inline void sigmoid_ce_loss_backward(int64_t j, const SigmoidCrossEntropyLossArgs& a,
                                              const T* x, const T* t, T scale, T* dx) {
  if (sigmoid_ce_ignored(t[j], a)) {
    dx[j] = T(0);
    return;
  }
  const T v = x[j];
  const T s = v >= T(0) ? T(1) / (T(1) + std::exp(-v)) : std::exp(v) / (T(1) + std::exp(v));
  dx[j] = scale * (s - t[j]);
}

}  // namespace crema::kernels

namespace crema::cuda {

// CUDA launchers of the bodies above (cuda_kernels/sigmoid_cross_entropy_loss.cu); CUDA builds
// only.
template <class T>
void launch_sigmoid_ce_loss_forward(Stream s, int64_t n,
                                    const kernels::SigmoidCrossEntropyLossArgs& a, const T* x,
                                    const T* t, double* loss, double* valid);
template <class T>
void launch_sigmoid_ce_loss_backward(Stream s, int64_t n,
                                     const kernels::SigmoidCrossEntropyLossArgs& a, const T* x,
                                     const T* t, T scale, T* dx);

}  // namespace crema::cuda
