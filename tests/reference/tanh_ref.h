/// Naive TanH reference (double precision, from exponentials).
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

namespace crema::ref {

inline double tanh_of(double v) {
  const double e = std::exp(-2.0 * std::fabs(v));
  const double t = (1.0 - e) / (1.0 + e);
  return v < 0 ? -t : t;
}

template <class T>
std::vector<double> tanh_forward(const T* x, int64_t n) {
  std::vector<double> y(n);
  for (int64_t i = 0; i < n; ++i) y[i] = tanh_of(x[i]);
  return y;
}

/// Gradient from the input: dy * (1 - tanh(x)^2).
template <class T>
std::vector<double> tanh_backward(const T* x, const T* dy, int64_t n) {
  std::vector<double> dx(n);
  for (int64_t i = 0; i < n; ++i) {
    const double t = tanh_of(x[i]);
    dx[i] = static_cast<double>(dy[i]) * (1.0 - t * t);
  }
  return dx;
}

}  // namespace crema::ref
