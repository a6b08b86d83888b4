/// Naive BatchNorm oracle (Caffe's semantics): per-channel statistics with plain loops in double.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

namespace crema::ref {

/// Mean and biased variance of each channel of x (N, C, S) over N and S.
template <class T>
void channel_stats(const T* x, int64_t num, int64_t channels, int64_t spatial,
                   std::vector<double>* mean, std::vector<double>* var) {
  mean->assign(static_cast<size_t>(channels), 0.0);
  var->assign(static_cast<size_t>(channels), 0.0);
  const double m = static_cast<double>(num * spatial);
  for (int64_t c = 0; c < channels; ++c) {
    double s = 0;
    for (int64_t n = 0; n < num; ++n)
      for (int64_t i = 0; i < spatial; ++i) s += x[(n * channels + c) * spatial + i];
    const double mu = s / m;
    double q = 0;
    for (int64_t n = 0; n < num; ++n)
      for (int64_t i = 0; i < spatial; ++i) {
        const double d = x[(n * channels + c) * spatial + i] - mu;
        q += d * d;
      }
    (*mean)[c] = mu;
    (*var)[c] = q / m;
  }
}

/// y = (x - mean[c]) / sqrt(var[c] + eps) for x (N, C, S).
template <class T>
std::vector<double> normalize(const T* x, int64_t num, int64_t channels, int64_t spatial,
                              const std::vector<double>& mean, const std::vector<double>& var,
                              double eps) {
  std::vector<double> y(static_cast<size_t>(num * channels * spatial));
  for (int64_t n = 0; n < num; ++n)
    for (int64_t c = 0; c < channels; ++c)
      for (int64_t i = 0; i < spatial; ++i) {
        const int64_t j = (n * channels + c) * spatial + i;
        y[j] = (x[j] - mean[c]) / std::sqrt(var[c] + eps);
      }
  return y;
}

/// Caffe's BatchNorm state: running sums and their scale factor.
struct BatchNormState {
  std::vector<double> mean_sum, var_sum;
  double factor = 0;
};

/// One TRAIN forward of Caffe's BatchNorm: returns y and updates the state as Caffe does
/// (factor = f * factor + 1, mean_sum = mean + f * mean_sum,
/// var_sum = m / (m - 1) * var + f * var_sum).
template <class T>
std::vector<double> batch_norm_train(const T* x, int64_t num, int64_t channels, int64_t spatial,
                                     double fraction, double eps, BatchNormState* st) {
  std::vector<double> mean, var;
  channel_stats(x, num, channels, spatial, &mean, &var);
  const double m = static_cast<double>(num * spatial);
  st->factor = fraction * st->factor + 1;
  for (int64_t c = 0; c < channels; ++c) {
    st->mean_sum[c] = mean[c] + fraction * st->mean_sum[c];
    st->var_sum[c] = (m > 1 ? m / (m - 1) : 1.0) * var[c] + fraction * st->var_sum[c];
  }
  return normalize(x, num, channels, spatial, mean, var, eps);
}

/// A forward with use_global_stats: statistics = sums / factor (0 when factor is 0).
template <class T>
std::vector<double> batch_norm_global(const T* x, int64_t num, int64_t channels, int64_t spatial,
                                      double eps, const BatchNormState& st) {
  const double f = st.factor == 0 ? 0 : 1 / st.factor;
  std::vector<double> mean(static_cast<size_t>(channels)), var(static_cast<size_t>(channels));
  for (int64_t c = 0; c < channels; ++c) {
    mean[c] = f * st.mean_sum[c];
    var[c] = f * st.var_sum[c];
  }
  return normalize(x, num, channels, spatial, mean, var, eps);
}

}  // namespace crema::ref
