/// Naive double-precision Softmax oracle (log-sum-exp form, full Jacobian for backward).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace crema::ref {

/// Sizes before, at and after `axis` (already non-negative) of `shape`.
struct AxisSplit {
  int64_t outer = 1, channels = 1, inner = 1;
};

inline AxisSplit split_at_axis(const std::vector<int64_t>& shape, int axis) {
  AxisSplit s;
  for (int d = 0; d < static_cast<int>(shape.size()); ++d) {
    if (d < axis) s.outer *= shape[d];
    if (d == axis) s.channels = shape[d];
    if (d > axis) s.inner *= shape[d];
  }
  return s;
}

/// y[.., c, ..] = exp(x[.., c, ..] - logsumexp_c x) along `axis`.
inline std::vector<double> softmax(const std::vector<double>& x, const std::vector<int64_t>& shape,
                                   int axis) {
  const AxisSplit s = split_at_axis(shape, axis);
  std::vector<double> y(x.size());
  for (int64_t o = 0; o < s.outer; ++o) {
    for (int64_t j = 0; j < s.inner; ++j) {
      auto at = [&](int64_t c) { return (o * s.channels + c) * s.inner + j; };
      double m = -INFINITY;
      for (int64_t c = 0; c < s.channels; ++c) m = std::max(m, x[at(c)]);
      double sum = 0;
      for (int64_t c = 0; c < s.channels; ++c) sum += std::exp(x[at(c)] - m);
      const double lse = m + std::log(sum);
      for (int64_t c = 0; c < s.channels; ++c) y[at(c)] = std::exp(x[at(c)] - lse);
    }
  }
  return y;
}

/// dx_c = sum_k dy_k * dy_k/dx_c with the Jacobian y_k (delta_kc - y_c), along `axis`.
inline std::vector<double> softmax_backward(const std::vector<double>& y,
                                            const std::vector<double>& dy,
                                            const std::vector<int64_t>& shape, int axis) {
  const AxisSplit s = split_at_axis(shape, axis);
  std::vector<double> dx(y.size());
  for (int64_t o = 0; o < s.outer; ++o) {
    for (int64_t j = 0; j < s.inner; ++j) {
      auto at = [&](int64_t c) { return (o * s.channels + c) * s.inner + j; };
      for (int64_t c = 0; c < s.channels; ++c) {
        double g = 0;
        for (int64_t k = 0; k < s.channels; ++k)
          g += dy[at(k)] * y[at(k)] * ((k == c ? 1.0 : 0.0) - y[at(c)]);
        dx[at(c)] = g;
      }
    }
  }
  return dx;
}

}  // namespace crema::ref
