/// Naive Exp reference in double: y = base^(shift + scale * x), base -1 meaning e.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

namespace crema::ref {

inline double exp_base(double base) { return base == -1 ? std::exp(1.0) : base; }

template <class T>
std::vector<double> exp_forward(const T* x, int64_t n, double base, double scale, double shift) {
  std::vector<double> y(n);
  for (int64_t i = 0; i < n; ++i) y[i] = std::pow(exp_base(base), shift + scale * double(x[i]));
  return y;
}

/// d/dx = ln(base) * scale * y.
template <class T>
std::vector<double> exp_backward(const T* x, const T* dy, int64_t n, double base, double scale,
                                 double shift) {
  const auto y = exp_forward(x, n, base, scale, shift);
  std::vector<double> dx(n);
  for (int64_t i = 0; i < n; ++i) dx[i] = double(dy[i]) * std::log(exp_base(base)) * scale * y[i];
  return dx;
}

}  // namespace crema::ref
