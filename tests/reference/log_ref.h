/// Naive Log reference in double: y = log_base(shift + scale * x), base -1 meaning e.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

namespace crema::ref {

inline double log_of_base(double base) { return base == -1 ? 1.0 : std::log(base); }

template <class T>
std::vector<double> log_forward(const T* x, int64_t n, double base, double scale, double shift) {
  std::vector<double> y(n);
  for (int64_t i = 0; i < n; ++i) y[i] = std::log(shift + scale * double(x[i])) / log_of_base(base);
  return y;
}

/// d/dx = scale / ((shift + scale * x) * ln(base)).
template <class T>
std::vector<double> log_backward(const T* x, const T* dy, int64_t n, double base, double scale,
                                 double shift) {
  std::vector<double> dx(n);
  for (int64_t i = 0; i < n; ++i)
    dx[i] = double(dy[i]) * scale / ((shift + scale * double(x[i])) * log_of_base(base));
  return dx;
}

}  // namespace crema::ref
