/// Naive PReLU reference over (N, C, rest) in double.
#pragma once

#include <cstdint>
#include <vector>

namespace crema::ref {

struct PReluResult {
  std::vector<double> y, dx, dslope;
};

/// x and dy are N x C x inner; slopes has C values, or 1 when shared.
template <class T>
PReluResult prelu(const T* x, const T* dy, int64_t num, int64_t channels, int64_t inner,
                  const T* slopes, bool shared) {
  PReluResult r;
  r.y.resize(num * channels * inner);
  r.dx.resize(r.y.size());
  r.dslope.assign(shared ? 1 : channels, 0.0);
  for (int64_t n = 0; n < num; ++n) {
    for (int64_t c = 0; c < channels; ++c) {
      const double a = slopes[shared ? 0 : c];
      for (int64_t k = 0; k < inner; ++k) {
        const int64_t i = (n * channels + c) * inner + k;
        const double v = x[i];
        r.y[i] = v > 0 ? v : a * v;
        r.dx[i] = static_cast<double>(dy[i]) * (v > 0 ? 1.0 : a);
        if (v <= 0) r.dslope[shared ? 0 : c] += static_cast<double>(dy[i]) * v;
      }
    }
  }
  return r;
}

}  // namespace crema::ref
