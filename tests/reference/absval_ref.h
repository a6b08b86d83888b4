/// Naive AbsVal reference in double.
#pragma once

#include <cstdint>
#include <vector>

namespace crema::ref {

template <class T>
std::vector<double> absval_forward(const T* x, int64_t n) {
  std::vector<double> y(n);
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] < 0 ? -double(x[i]) : double(x[i]);
  return y;
}

template <class T>
std::vector<double> absval_backward(const T* x, const T* dy, int64_t n) {
  std::vector<double> dx(n);
  for (int64_t i = 0; i < n; ++i) {
    double sign = 0;
    if (x[i] > 0) sign = 1;
    if (x[i] < 0) sign = -1;
    dx[i] = sign * double(dy[i]);
  }
  return dx;
}

}  // namespace crema::ref
