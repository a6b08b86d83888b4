/// Naive Sigmoid reference (double precision, from the textbook formula).
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

namespace crema::ref {

template <class T>
std::vector<double> sigmoid_forward(const T* x, int64_t n) {
  std::vector<double> y(n);
  for (int64_t i = 0; i < n; ++i) y[i] = 1.0 / (1.0 + std::exp(-static_cast<double>(x[i])));
  return y;
}

/// Gradient from the input: dy * s(x) * (1 - s(x)).
template <class T>
std::vector<double> sigmoid_backward(const T* x, const T* dy, int64_t n) {
  std::vector<double> dx(n);
  for (int64_t i = 0; i < n; ++i) {
    const double s = 1.0 / (1.0 + std::exp(-static_cast<double>(x[i])));
    dx[i] = static_cast<double>(dy[i]) * s * (1.0 - s);
  }
  return dx;
}

}  // namespace crema::ref
