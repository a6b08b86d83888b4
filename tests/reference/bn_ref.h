/// Naive oracle of the yjxiong/caffe "BN" layer: batch norm with scale/shift and running
/// averages, plain loops in double.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

namespace crema::ref {

/// The BN layer's blobs (each C values).
struct BNState {
  std::vector<double> scale, shift, run_mean, run_var;
};

/// y = scale * (x - mean) / sqrt(var + eps) + shift for x (N, C, S). When `batch` the mean and
/// biased variance come from x over N and S, and the running averages become
/// momentum * running + (1 - momentum) * batch; otherwise the running ones are used unchanged.
template <class T>
std::vector<double> bn_forward(const T* x, int64_t num, int64_t channels, int64_t spatial,
                               double momentum, double eps, bool batch, BNState* st) {
  std::vector<double> mean = st->run_mean, var = st->run_var;
  if (batch) {
    const double m = static_cast<double>(num * spatial);
    for (int64_t c = 0; c < channels; ++c) {
      double s = 0;
      for (int64_t n = 0; n < num; ++n)
        for (int64_t i = 0; i < spatial; ++i) s += x[(n * channels + c) * spatial + i];
      mean[c] = s / m;
      double q = 0;
      for (int64_t n = 0; n < num; ++n)
        for (int64_t i = 0; i < spatial; ++i) {
          const double d = x[(n * channels + c) * spatial + i] - mean[c];
          q += d * d;
        }
      var[c] = q / m;
      st->run_mean[c] = momentum * st->run_mean[c] + (1 - momentum) * mean[c];
      st->run_var[c] = momentum * st->run_var[c] + (1 - momentum) * var[c];
    }
  }
  std::vector<double> y(static_cast<size_t>(num * channels * spatial));
  for (int64_t n = 0; n < num; ++n)
    for (int64_t c = 0; c < channels; ++c)
      for (int64_t i = 0; i < spatial; ++i) {
        const int64_t j = (n * channels + c) * spatial + i;
        y[j] = st->scale[c] * (x[j] - mean[c]) / std::sqrt(var[c] + eps) + st->shift[c];
      }
  return y;
}

}  // namespace crema::ref
