/// Kernel bodies of HingeLoss: one-vs-all hinge on N x K scores (L1 or squared L2).
#pragma once

#include <cstdint>

#include "core/hd.h"
#include "cuda_kernels/class_label.h"
#include "cuda_kernels/launch.h"

namespace crema::kernels {

struct HingeLossArgs {
  int64_t num = 0;  ///< samples N
  int64_t dim = 0;  ///< classes K
  bool l2 = false;  ///< squared hinge (norm L2) instead of L1
};

/// Per-sample loss sum over k of max(0, 1 + s_k x_k) (squared under L2), with s_k = -1 for the
/// true class and +1 otherwise; state[i] the decoded label (loss 0 when invalid).
/// Work item i in [0, num): row [i * dim, (i+1) * dim). Writes loss[i], state[i]: GATHER.
template <class T>
CREMA_HD inline void hinge_loss_forward(int64_t i, const HingeLossArgs& a, const T* x,
                                        const T* label, T* loss, T* state) {
  const int64_t k = decode_label(label[i], a.dim, false, 0);
  state[i] = static_cast<T>(k);
  T sum = 0;
  if (k >= 0) {
    for (int64_t c = 0; c < a.dim; ++c) {
      const T v = hd::max(T(0), T(1) + (c == k ? -x[i * a.dim + c] : x[i * a.dim + c]));
      sum += a.l2 ? v * v : v;
    }
  }
  loss[i] = sum;
}

/// dx = scale * s_k * (margin active ? 1 : 0) under L1, scale * 2 s_k max(0, 1 + s_k x_k) under
/// L2. Work item j in [0, num * dim): i = j / dim, c = j % dim. Writes dx[j] only: GATHER.
template <class T>
CREMA_HD inline void hinge_loss_backward(int64_t j, const HingeLossArgs& a, const T* x,
                                         const T* label, T scale, T* dx) {
  const int64_t i = j / a.dim, c = j % a.dim;
  const int64_t k = decode_label(label[i], a.dim, false, 0);
  if (k < 0) {
    dx[j] = T(0);
    return;
  }
  const T s = c == k ? T(-1) : T(1);
  const T v = T(1) + s * x[j];
  if (v <= T(0)) {
    dx[j] = T(0);
    return;
  }
  dx[j] = a.l2 ? scale * T(2) * s * v : scale * s;
}

}  // namespace crema::kernels

namespace crema::cuda {

// CUDA launchers of the bodies above (cuda_kernels/hinge_loss.cu); CUDA builds only.
template <class T>
void launch_hinge_loss_forward(Stream s, int64_t n, const kernels::HingeLossArgs& a, const T* x,
                               const T* label, T* loss, T* state);
template <class T>
void launch_hinge_loss_backward(Stream s, int64_t n, const kernels::HingeLossArgs& a, const T* x,
                                const T* label, T scale, T* dx);

}  // namespace crema::cuda
