/// Kernel body of Accuracy: whether each position's label is among the top-k scores.
#pragma once

#include <cstdint>

#include "core/hd.h"
#include "cuda_kernels/launch.h"
#include "cuda_kernels/class_label.h"

namespace crema::kernels {

/// Scores viewed as (outer, classes, inner); one label per (outer, inner) position.
struct AccuracyArgs {
  int64_t outer = 0;
  int64_t classes = 0;
  int64_t inner = 0;
  int64_t top_k = 1;
  bool has_ignore_label = false;
  int ignore_label = 0;
};

/// Caffe's rule: a position is a hit when fewer than top_k other classes score >= the true
/// class (ties count against the label). A NaN score of another class ranks above every
/// number; a NaN true-class score is never a hit.
/// Work item i in [0, outer * inner): o = i / inner, s = i % inner. Writes hit[i] (1 or 0) and
/// state[i] (the decoded label: class index, kLabelIgnored or kLabelInvalid): GATHER.
template <class T>
CREMA_HD inline void accuracy_forward(int64_t i, const AccuracyArgs& a, const T* x, const T* label,
                                      T* hit, T* state) {
  const int64_t k = decode_label(label[i], a.classes, a.has_ignore_label, a.ignore_label);
  state[i] = static_cast<T>(k);
  hit[i] = T(0);
  if (k < 0) return;
  const int64_t o = i / a.inner, s = i % a.inner;
  const int64_t base = o * a.classes * a.inner + s;
  const T truth = x[base + k * a.inner];
  if (truth != truth) return;
  int64_t better = 0;
  for (int64_t c = 0; c < a.classes && better < a.top_k; ++c)
    if (c != k && !(x[base + c * a.inner] < truth)) ++better;
  hit[i] = better < a.top_k ? T(1) : T(0);
}

}  // namespace crema::kernels

namespace crema::cuda {

// CUDA launcher of accuracy_forward (cuda_kernels/accuracy.cu); CUDA builds only.
template <class T>
void launch_accuracy_forward(Stream s, int64_t n, const kernels::AccuracyArgs& a, const T* x,
                             const T* label, T* hit, T* state);

}  // namespace crema::cuda
