/// Naive L1Loss reference.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

namespace crema::ref {

struct L1Result {
  double loss = 0;
  std::vector<double> grad_a, grad_b;  ///< for loss weight 1
};

/// loss = sum |a - b| / num; d/da = sign(a - b) / num (0 where equal), d/db the negative.
inline L1Result l1_loss(const std::vector<double>& a, const std::vector<double>& b, int64_t num) {
  L1Result r;
  for (size_t i = 0; i < a.size(); ++i) {
    const double d = a[i] - b[i];
    r.loss += std::fabs(d);
    const double s = d > 0 ? 1.0 : (d < 0 ? -1.0 : 0.0);
    r.grad_a.push_back(s / num);
    r.grad_b.push_back(-s / num);
  }
  r.loss /= num;
  return r;
}

}  // namespace crema::ref
