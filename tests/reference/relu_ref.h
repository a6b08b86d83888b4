/// Naive ReLU reference (double precision).
#pragma once

#include <cstdint>
#include <vector>

namespace crema::ref {

template <class T>
std::vector<double> relu_forward(const T* x, int64_t n, double slope) {
  std::vector<double> y(n);
  for (int64_t i = 0; i < n; ++i) {
    const double v = x[i];
    y[i] = v > 0 ? v : slope * v;
  }
  return y;
}

template <class T>
std::vector<double> relu_backward(const T* x, const T* dy, int64_t n, double slope) {
  std::vector<double> dx(n);
  for (int64_t i = 0; i < n; ++i) dx[i] = static_cast<double>(dy[i]) * (x[i] > 0 ? 1.0 : slope);
  return dx;
}

}  // namespace crema::ref
