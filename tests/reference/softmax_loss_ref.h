/// Naive double-precision SoftmaxWithLoss oracle (Caffe's semantics).
#pragma once

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <vector>

#include "tests/reference/softmax_ref.h"

namespace crema::ref {

enum class LossNorm { kFull, kValid, kBatchSize, kNone };

struct SoftmaxLossResult {
  double loss = 0;
  std::vector<double> grad;  ///< d loss / d scores for loss weight 1
};

/// Loss -sum log(max(p[label], FLT_MIN)) / max(1, normalizer) over positions whose label is
/// not `ignore` (when has_ignore), and its gradient (p - onehot) / normalizer.
inline SoftmaxLossResult softmax_loss(const std::vector<double>& x,
                                      const std::vector<double>& labels,
                                      const std::vector<int64_t>& shape, int axis, LossNorm norm,
                                      bool has_ignore, int ignore) {
  const AxisSplit s = split_at_axis(shape, axis);
  const std::vector<double> p = softmax(x, shape, axis);
  SoftmaxLossResult r;
  r.grad.assign(x.size(), 0.0);
  double sum = 0;
  int64_t valid = 0;
  for (int64_t o = 0; o < s.outer; ++o) {
    for (int64_t j = 0; j < s.inner; ++j) {
      const double l = labels[o * s.inner + j];
      if (has_ignore && l == ignore) continue;
      const auto label = static_cast<int64_t>(l);
      ++valid;
      sum -= std::log(std::max(p[(o * s.channels + label) * s.inner + j], double(FLT_MIN)));
      for (int64_t c = 0; c < s.channels; ++c) {
        const int64_t k = (o * s.channels + c) * s.inner + j;
        r.grad[k] = p[k] - (c == label ? 1.0 : 0.0);
      }
    }
  }
  double normalizer = 1;
  if (norm == LossNorm::kFull) normalizer = static_cast<double>(s.outer * s.inner);
  if (norm == LossNorm::kValid) normalizer = static_cast<double>(valid);
  if (norm == LossNorm::kBatchSize) normalizer = static_cast<double>(s.outer);
  normalizer = std::max(1.0, normalizer);
  r.loss = sum / normalizer;
  for (double& g : r.grad) g /= normalizer;
  return r;
}

}  // namespace crema::ref
