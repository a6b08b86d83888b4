/// Naive double-precision EuclideanLoss oracle.
#pragma once

#include <cstdint>
#include <vector>

namespace crema::ref {

struct EuclideanLossResult {
  double loss = 0;
  std::vector<double> grad_a, grad_b;  ///< for loss weight 1
};

/// loss = sum (a - b)^2 / (2 num); d/da = (a - b) / num, d/db = -(a - b) / num.
inline EuclideanLossResult euclidean_loss(const std::vector<double>& a,
                                          const std::vector<double>& b, int64_t num) {
  EuclideanLossResult r;
  for (size_t i = 0; i < a.size(); ++i) {
    const double d = a[i] - b[i];
    r.loss += d * d;
    r.grad_a.push_back(d / num);
    r.grad_b.push_back(-d / num);
  }
  r.loss /= 2.0 * num;
  return r;
}

}  // namespace crema::ref
