/// Naive MultinomialLogisticLoss reference.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace crema::ref {

struct MultinomialResult {
  double loss = 0;
  std::vector<double> grad;  ///< for loss weight 1
};

/// loss = -sum_n log(max(p[n, label_n], 1e-20)) / N; grad -1 / (N max(p, 1e-20)) at the label.
inline MultinomialResult multinomial_logistic_loss(const std::vector<double>& p,
                                                   const std::vector<double>& labels) {
  const int64_t n = static_cast<int64_t>(labels.size());
  const int64_t k = static_cast<int64_t>(p.size()) / n;
  MultinomialResult r;
  r.grad.assign(p.size(), 0.0);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t j = i * k + static_cast<int64_t>(labels[i]);
    const double q = std::max(p[j], 1e-20);
    r.loss -= std::log(q);
    r.grad[j] = -1.0 / (q * n);
  }
  r.loss /= n;
  return r;
}

}  // namespace crema::ref
