/// Naive ContrastiveLoss reference (Caffe's formulas, including its 1e-4 in the gradient).
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

namespace crema::ref {

struct ContrastiveResult {
  double loss = 0;
  std::vector<double> grad_a, grad_b;  ///< for loss weight 1
};

inline ContrastiveResult contrastive_loss(const std::vector<double>& a,
                                          const std::vector<double>& b,
                                          const std::vector<double>& y, double margin,
                                          bool legacy) {
  const int64_t n = static_cast<int64_t>(y.size());
  const int64_t dim = static_cast<int64_t>(a.size()) / n;
  ContrastiveResult r;
  r.grad_a.assign(a.size(), 0.0);
  r.grad_b.assign(a.size(), 0.0);
  for (int64_t i = 0; i < n; ++i) {
    double d2 = 0;
    for (int64_t j = 0; j < dim; ++j)
      d2 += (a[i * dim + j] - b[i * dim + j]) * (a[i * dim + j] - b[i * dim + j]);
    const double d = std::sqrt(d2);
    double coef = 0;  // d loss_i / d (a - b), per unit of (a - b), before the 1 / 2N
    if (y[i] == 1) {
      r.loss += d2;
      coef = 2;
    } else if (legacy) {
      if (margin - d2 > 0) {
        r.loss += margin - d2;
        coef = -2;
      }
    } else if (margin - d > 0) {
      r.loss += (margin - d) * (margin - d);
      coef = -2 * (margin - d) / (d + 1e-4);
    }
    for (int64_t j = 0; j < dim; ++j) {
      const double g = coef * (a[i * dim + j] - b[i * dim + j]) / (2.0 * n);
      r.grad_a[i * dim + j] = g;
      r.grad_b[i * dim + j] = -g;
    }
  }
  r.loss /= 2.0 * n;
  return r;
}

}  // namespace crema::ref
