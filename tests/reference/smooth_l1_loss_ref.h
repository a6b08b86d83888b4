/// Naive SmoothL1Loss reference (Fast R-CNN).
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

namespace crema::ref {

struct SmoothL1Result {
  double loss = 0;
  std::vector<double> grad_a, grad_b;  ///< for loss weight 1
};

/// loss = sum w_out * f(w_in * (a - b)) / num, f(d) = 0.5 sigma^2 d^2 if |d| < 1 / sigma^2 else
/// |d| - 0.5 / sigma^2. Empty weights mean 1.
inline SmoothL1Result smooth_l1_loss(const std::vector<double>& a, const std::vector<double>& b,
                                     const std::vector<double>& w_in,
                                     const std::vector<double>& w_out, double sigma, int64_t num) {
  const double s2 = sigma * sigma;
  SmoothL1Result r;
  for (size_t i = 0; i < a.size(); ++i) {
    const double wi = w_in.empty() ? 1.0 : w_in[i];
    const double wo = w_out.empty() ? 1.0 : w_out[i];
    const double d = wi * (a[i] - b[i]);
    double f, df;
    if (std::fabs(d) < 1 / s2) {
      f = 0.5 * s2 * d * d;
      df = s2 * d;
    } else {
      f = std::fabs(d) - 0.5 / s2;
      df = d > 0 ? 1.0 : -1.0;
    }
    r.loss += wo * f;
    r.grad_a.push_back(wo * df * wi / num);
    r.grad_b.push_back(-wo * df * wi / num);
  }
  r.loss /= num;
  return r;
}

}  // namespace crema::ref
