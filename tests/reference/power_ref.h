/// Naive Power reference in double: y = (shift + scale * x)^power.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

namespace crema::ref {

template <class T>
std::vector<double> power_forward(const T* x, int64_t n, double power, double scale, double shift) {
  std::vector<double> y(n);
  for (int64_t i = 0; i < n; ++i) y[i] = std::pow(shift + scale * double(x[i]), power);
  return y;
}

template <class T>
std::vector<double> power_backward(const T* x, const T* dy, int64_t n, double power, double scale,
                                   double shift) {
  std::vector<double> dx(n);
  for (int64_t i = 0; i < n; ++i) {
    const double d = power == 0 ? 0.0 : power * scale * std::pow(shift + scale * x[i], power - 1);
    dx[i] = double(dy[i]) * d;
  }
  return dx;
}

}  // namespace crema::ref
