/// Naive ELU reference in double.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

namespace crema::ref {

template <class T>
std::vector<double> elu_forward(const T* x, int64_t n, double alpha) {
  std::vector<double> y(n);
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] > 0 ? x[i] : alpha * (std::exp(double(x[i])) - 1);
  return y;
}

/// d/dx: 1 for x > 0, alpha * exp(x) otherwise.
template <class T>
std::vector<double> elu_backward(const T* x, const T* dy, int64_t n, double alpha) {
  std::vector<double> dx(n);
  for (int64_t i = 0; i < n; ++i)
    dx[i] = double(dy[i]) * (x[i] > 0 ? 1.0 : alpha * std::exp(double(x[i])));
  return dx;
}

}  // namespace crema::ref
