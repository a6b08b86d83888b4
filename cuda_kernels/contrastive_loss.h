/// Kernel bodies of ContrastiveLoss (Hadsell, Chopra and LeCun 2006, as in Caffe).
#pragma once

#include <cmath>
#include <cstdint>

#include "core/hd.h"
#include "cuda_kernels/class_label.h"
#include "cuda_kernels/launch.h"

namespace crema::kernels {

struct ContrastiveLossArgs {
  int64_t num = 0;  ///< pairs N
  int64_t dim = 0;  ///< features per item
  double margin = 1;
  bool legacy = false;  ///< max(margin - d^2, 0) instead of max(margin - d, 0)^2
};

/// The similarity of a pair: 1 (similar), 0 (dissimilar) or kLabelInvalid.
template <class T>
CREMA_HD inline int64_t contrastive_label(T y) {
  return decode_label(y, 2, false, 0);
}

/// One pair: diff = a - b on its row, dist_sq[i] = |a_i - b_i|^2 and loss[i] = dist_sq for a
/// similar pair, else max(margin - d, 0)^2 (legacy: max(margin - d^2, 0)), d = sqrt(dist_sq);
/// state[i] the decoded label (loss 0 when invalid). Work item i in [0, num) covers row
/// [i * dim, (i+1) * dim). Writes only that row and slot i: GATHER.
template <class T>
CREMA_HD inline void contrastive_loss_forward(int64_t i, const ContrastiveLossArgs& a, const T* x0,
                                              const T* x1, const T* y, T* diff, T* dist_sq, T* loss,
                                              T* state) {
  T sq = 0;
  for (int64_t j = i * a.dim; j < (i + 1) * a.dim; ++j) {
    diff[j] = x0[j] - x1[j];
    sq += diff[j] * diff[j];
  }
  dist_sq[i] = sq;
  const int64_t label = contrastive_label(y[i]);
  state[i] = static_cast<T>(label);
  const T margin = static_cast<T>(a.margin);
  if (label == 1) {
    loss[i] = sq;
  } else if (label == 0) {
    const T m = a.legacy ? margin - sq : margin - std::sqrt(sq);
    loss[i] = m > T(0) ? (a.legacy ? m : m * m) : T(0);
  } else {
    loss[i] = T(0);
  }
}

/// Gradient for one bottom: alpha = +-w / N (+ for a, - for b). Similar pairs: alpha * diff;
/// dissimilar pairs inside the margin: -alpha * diff (legacy), or, as Caffe,
/// -alpha * (margin - d) / (d + 1e-4) * diff (the 1e-4 keeps d = 0 finite); 0 outside the margin.
/// Work item j in [0, num * dim): pair i = j / dim. Writes dx[j] only: GATHER.
template <class T>
CREMA_HD inline void contrastive_loss_backward(int64_t j, const ContrastiveLossArgs& a, const T* y,
                                               const T* diff, const T* dist_sq, T alpha, T* dx) {
  const int64_t i = j / a.dim;
  const int64_t label = contrastive_label(y[i]);
  const T margin = static_cast<T>(a.margin);
  if (label == 1) {
    dx[j] = alpha * diff[j];
    return;
  }
  T beta = 0;
  if (a.legacy) {
    if (margin - dist_sq[i] > T(0)) beta = -alpha;
  } else {
    const T d = std::sqrt(dist_sq[i]);
    const T m = margin - d;
    if (m > T(0)) beta = -alpha * m / (d + T(1e-4));
  }
  dx[j] = label == 0 ? beta * diff[j] : T(0);
}

}  // namespace crema::kernels

namespace crema::cuda {

// CUDA launchers of the bodies above (cuda_kernels/contrastive_loss.cu); CUDA builds only.
template <class T>
void launch_contrastive_loss_forward(Stream s, int64_t n, const kernels::ContrastiveLossArgs& a,
                                     const T* x0, const T* x1, const T* y, T* diff, T* dist_sq,
                                     T* loss, T* state);
template <class T>
void launch_contrastive_loss_backward(Stream s, int64_t n, const kernels::ContrastiveLossArgs& a,
                                      const T* y, const T* diff, const T* dist_sq, T alpha, T* dx);

}  // namespace crema::cuda
