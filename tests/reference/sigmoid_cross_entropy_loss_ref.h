/// Naive SigmoidCrossEntropyLoss reference (direct logs of the sigmoid; moderate inputs only).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace crema::ref {

enum class SigmoidCeNorm { kFull, kValid, kBatchSize, kNone };

struct SigmoidCeResult {
  double loss = 0;
  std::vector<double> grad;  ///< for loss weight 1
};

/// loss = -sum [t log s + (1 - t) log(1 - s)] / max(1, normalizer) over targets != ignore
/// (when has_ignore); grad = (s - t) / normalizer there, 0 at ignored targets.
/// num is the batch size N; the rest of each item is count / N.
inline SigmoidCeResult sigmoid_cross_entropy(const std::vector<double>& x,
                                             const std::vector<double>& t, int64_t num,
                                             SigmoidCeNorm norm, bool has_ignore, int ignore) {
  SigmoidCeResult r;
  r.grad.assign(x.size(), 0.0);
  double sum = 0;
  int64_t valid = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    if (has_ignore && t[i] == ignore) continue;
    const double s = 1.0 / (1.0 + std::exp(-x[i]));
    sum -= t[i] * std::log(s) + (1 - t[i]) * std::log(1 - s);
    r.grad[i] = s - t[i];
    ++valid;
  }
  double normalizer = 1;
  if (norm == SigmoidCeNorm::kFull) normalizer = static_cast<double>(x.size());
  if (norm == SigmoidCeNorm::kValid) normalizer = static_cast<double>(valid);
  if (norm == SigmoidCeNorm::kBatchSize) normalizer = static_cast<double>(num);
  normalizer = std::max(1.0, normalizer);
  r.loss = sum / normalizer;
  for (double& g : r.grad) g /= normalizer;
  return r;
}

}  // namespace crema::ref
