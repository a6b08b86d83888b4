/// Naive fully connected oracle: y[m][n] = sum_k x[m][k] * W(n, k) + b[n].
#pragma once

#include <cstdint>
#include <vector>

namespace crema::ref {

/// x is rows x k; weight is n x k, or k x n when `transpose`; bias (n) or null.
template <class T>
std::vector<double> inner_product(const T* x, int64_t rows, int64_t k, const T* weight,
                                  const T* bias, int64_t n, bool transpose) {
  std::vector<double> y(static_cast<size_t>(rows * n));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < n; ++j) {
      double acc = bias != nullptr ? static_cast<double>(bias[j]) : 0.0;
      for (int64_t i = 0; i < k; ++i) {
        const double w = transpose ? weight[i * n + j] : weight[j * k + i];
        acc += static_cast<double>(x[r * k + i]) * w;
      }
      y[static_cast<size_t>(r * n + j)] = acc;
    }
  return y;
}

}  // namespace crema::ref
