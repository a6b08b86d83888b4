/// Kernel bodies of MultinomialLogisticLoss: -log of the probability of the true class.
#pragma once

#include <cmath>
#include <cstdint>

#include "core/hd.h"
#include "cuda_kernels/class_label.h"
#include "cuda_kernels/launch.h"

namespace crema::kernels {

struct MultinomialLogisticLossArgs {
  int64_t num = 0;  ///< samples N
  int64_t dim = 0;  ///< classes K
};

/// Caffe's kLOG_THRESHOLD: probabilities are clamped to it before the log.
inline constexpr double kMultinomialLogThreshold = 1e-20;

/// loss[i] = -log(max(p[i, label_i], 1e-20)) and state[i] the decoded label (loss 0 when
/// invalid). Work item i in [0, num). Writes loss[i], state[i]: GATHER.
template <class T>
CREMA_HD inline void multinomial_logistic_loss_forward(int64_t i,
                                                       const MultinomialLogisticLossArgs& a,
                                                       const T* prob, const T* label, T* loss,
                                                       T* state) {
  const int64_t k = decode_label(label[i], a.dim, false, 0);
  state[i] = static_cast<T>(k);
  loss[i] = k < 0
                ? T(0)
                : -std::log(hd::max(prob[i * a.dim + k], static_cast<T>(kMultinomialLogThreshold)));
}

/// dx = -scale / max(p, 1e-20) at the true class, 0 elsewhere. Work item j in [0, num * dim):
/// i = j / dim, c = j % dim. Writes dx[j] only: GATHER.
template <class T>
CREMA_HD inline void multinomial_logistic_loss_backward(int64_t j,
                                                        const MultinomialLogisticLossArgs& a,
                                                        const T* prob, const T* label, T scale,
                                                        T* dx) {
  const int64_t i = j / a.dim, c = j % a.dim;
  const int64_t k = decode_label(label[i], a.dim, false, 0);
  dx[j] = c == k ? -scale / hd::max(prob[j], static_cast<T>(kMultinomialLogThreshold)) : T(0);
}

}  // namespace crema::kernels

namespace crema::cuda {

// CUDA launchers of the bodies above (cuda_kernels/multinomial_logistic_loss.cu); CUDA builds
// only.
template <class T>
void launch_multinomial_logistic_loss_forward(Stream s, int64_t n,
                                              const kernels::MultinomialLogisticLossArgs& a,
                                              const T* prob, const T* label, T* loss, T* state);
template <class T>
void launch_multinomial_logistic_loss_backward(Stream s, int64_t n,
                                               const kernels::MultinomialLogisticLossArgs& a,
                                               const T* prob, const T* label, T scale, T* dx);

}  // namespace crema::cuda
