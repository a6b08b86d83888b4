/// Naive Threshold reference: 1 where x > threshold, else 0.
#pragma once

#include <cstdint>
#include <vector>

namespace crema::ref {

template <class T>
std::vector<double> threshold_forward(const T* x, int64_t n, double threshold) {
  std::vector<double> y(n);
  for (int64_t i = 0; i < n; ++i) y[i] = double(x[i]) > threshold ? 1.0 : 0.0;
  return y;
}

}  // namespace crema::ref
