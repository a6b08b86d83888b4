/// Naive HingeLoss reference.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

namespace crema::ref {

struct HingeResult {
  double loss = 0;
  std::vector<double> grad;  ///< for loss weight 1
};

/// loss = sum_n sum_k max(0, 1 - t_nk x_nk)^p / N with t = +1 for the true class, -1 else.
inline HingeResult hinge_loss(const std::vector<double>& x, const std::vector<double>& labels,
                              bool l2) {
  const int64_t n = static_cast<int64_t>(labels.size());
  const int64_t k = static_cast<int64_t>(x.size()) / n;
  HingeResult r;
  r.grad.assign(x.size(), 0.0);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t c = 0; c < k; ++c) {
      const double t = c == static_cast<int64_t>(labels[i]) ? 1.0 : -1.0;
      const double m = std::max(0.0, 1 - t * x[i * k + c]);
      r.loss += l2 ? m * m : m;
      const double dm = m > 0 ? -t : 0.0;  // d m / d x
      r.grad[i * k + c] = (l2 ? 2 * m * dm : dm) / n;
    }
  }
  r.loss /= n;
  return r;
}

}  // namespace crema::ref
