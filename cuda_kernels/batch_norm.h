/// Batch normalization kernel bodies (Caffe's BatchNorm; the statistics and backward bodies are
/// shared with the BN layer, see cuda_kernels/bn.h).
#pragma once

#include <cmath>
#include <cstdint>

#include "core/hd.h"
#include "cuda_kernels/launch.h"

namespace crema::kernels {

/// The input seen as (num, channels, spatial); element (n, c, s) is at (n * C + c) * S + s.
struct BatchNormArgs {
  int64_t num, channels, spatial;
};

/// Sum of channel c's N * S elements in a fixed order (n, then s), accumulated in double.
template <class T>
CREMA_HD inline double batch_norm_channel_sum(int64_t c, const BatchNormArgs& a, const T* x) {
  double sum = 0;
  for (int64_t n = 0; n < a.num; ++n) {
    const T* row = x + (n * a.channels + c) * a.spatial;
    for (int64_t s = 0; s < a.spatial; ++s) sum += row[s];
  }
  return sum;
}

/// Sum of the squared deviations from mu of channel c's elements, same order, in double.
template <class T>
CREMA_HD inline double batch_norm_channel_sq_dev(int64_t c, const BatchNormArgs& a, const T* x,
                                                 double mu) {
  double sq = 0;
  for (int64_t n = 0; n < a.num; ++n) {
    const T* row = x + (n * a.channels + c) * a.spatial;
    for (int64_t s = 0; s < a.spatial; ++s) {
      const double d = row[s] - mu;
      sq += d * d;
    }
  }
  return sq;
}

/// Batch statistics. Work item: channel c in [0, C). Two passes over the N * S elements of the
/// channel: the mean, then the mean of the squared deviations (the biased variance,
/// E[(x - E x)^2]). Writes mean[c], var[c]. GATHER.
template <class T>
CREMA_HD inline void batch_norm_stats(int64_t c, const BatchNormArgs& a, const T* x, T* mean,
                                      T* var) {
  const double m = static_cast<double>(a.num * a.spatial);
  const double mu = batch_norm_channel_sum(c, a, x) / m;
  mean[c] = static_cast<T>(mu);
  var[c] = static_cast<T>(batch_norm_channel_sq_dev(c, a, x, mu) / m);
}

/// Synchronized batch statistics, first pass: this rank's share. Work item: channel c. Writes
/// sum[c] = the channel's sum (reduced over the ranks by the caller). GATHER.
template <class T>
CREMA_HD inline void batch_norm_partial_sum(int64_t c, const BatchNormArgs& a, const T* x,
                                            double* sum) {
  sum[c] = batch_norm_channel_sum(c, a, x);
}

/// Second pass: this rank's squared deviations from the global mean mu[c]. Work item: channel c.
/// Writes sq[c]. GATHER.
template <class T>
CREMA_HD inline void batch_norm_partial_sq_dev(int64_t c, const BatchNormArgs& a, const T* x,
                                               const double* mu, double* sq) {
  sq[c] = batch_norm_channel_sq_dev(c, a, x, mu[c]);
}

/// Caffe's stored statistics are running sums with a common scale factor. Work item: channel c.
/// Writes mean[c] = factor * mean_sum[c], var[c] = factor * var_sum[c]. GATHER.
template <class T>
CREMA_HD inline void batch_norm_global_stats(int64_t c, T factor, const T* mean_sum,
                                             const T* var_sum, T* mean, T* var) {
  mean[c] = factor * mean_sum[c];
  var[c] = factor * var_sum[c];
}

/// Caffe's moving-average update. Work item: channel c. mean_sum = mean + fraction * mean_sum,
/// var_sum = correction * var + fraction * var_sum, where correction = m / (m - 1) turns the
/// biased batch variance into the unbiased one. GATHER.
template <class T>
CREMA_HD inline void batch_norm_moving_update(int64_t c, const T* mean, const T* var, T fraction,
                                              T correction, T* mean_sum, T* var_sum) {
  mean_sum[c] = mean[c] + fraction * mean_sum[c];
  var_sum[c] = correction * var[c] + fraction * var_sum[c];
}

/// Work item: channel c. inv_std[c] = 1 / sqrt(var[c] + eps). GATHER.
template <class T>
CREMA_HD inline void batch_norm_inv_std(int64_t c, const T* var, T eps, T* inv_std) {
  inv_std[c] = T(1) / std::sqrt(var[c] + eps);
}

/// Normalization. Work item: one row (n, c) of S elements, i in [0, N * C), c = i % C. Writes
/// y[i * S + s] = (x[i * S + s] - mean[c]) * inv_std[c]. GATHER; y may alias x (in place).
template <class T>
CREMA_HD inline void batch_norm_forward(int64_t i, const BatchNormArgs& a, const T* x,
                                        const T* mean, const T* inv_std, T* y) {
  const int64_t c = i % a.channels;
  const T mu = mean[c], r = inv_std[c];
  const T* src = x + i * a.spatial;
  T* dst = y + i * a.spatial;
  for (int64_t s = 0; s < a.spatial; ++s) dst[s] = (src[s] - mu) * r;
}

/// Per-channel sums of the backward pass. Work item: channel c. Sums dy and dy * xnorm over the
/// N * S elements of the channel in a fixed order with double accumulators; writes sum_dy[c],
/// sum_dy_xnorm[c] (also the shift and scale gradients of BN). GATHER.
template <class T>
CREMA_HD inline void batch_norm_backward_sums(int64_t c, const BatchNormArgs& a, const T* dy,
                                              const T* xnorm, T* sum_dy, T* sum_dy_xnorm) {
  double s1 = 0, s2 = 0;
  for (int64_t n = 0; n < a.num; ++n) {
    const int64_t base = (n * a.channels + c) * a.spatial;
    for (int64_t s = 0; s < a.spatial; ++s) {
      s1 += dy[base + s];
      s2 += static_cast<double>(dy[base + s]) * xnorm[base + s];
    }
  }
  sum_dy[c] = static_cast<T>(s1);
  sum_dy_xnorm[c] = static_cast<T>(s2);
}

/// Input gradient through batch statistics, for y = gain * xnorm (+ shift) with
/// xnorm = (x - mean) * inv_std and gain[c] = g[c] * inv_std[c]:
///   dx = gain * (dy - mean(dy) - xnorm * mean(dy * xnorm)), means over the channel's N * S.
/// Work item: one row (n, c), i in [0, N * C), c = i % C. GATHER; dx may alias dy (in place).
template <class T>
CREMA_HD inline void batch_norm_backward(int64_t i, const BatchNormArgs& a, const T* dy,
                                         const T* xnorm, const T* sum_dy, const T* sum_dy_xnorm,
                                         const T* gain, T* dx) {
  const int64_t c = i % a.channels;
  const T inv_m = T(1) / static_cast<T>(a.num * a.spatial);
  const T mean_dy = sum_dy[c] * inv_m, mean_dyx = sum_dy_xnorm[c] * inv_m, g = gain[c];
  const int64_t base = i * a.spatial;
  for (int64_t s = 0; s < a.spatial; ++s)
    dx[base + s] = g * (dy[base + s] - mean_dy - xnorm[base + s] * mean_dyx);
}

}  // namespace crema::kernels

namespace crema::cuda {

// CUDA launchers of the bodies above (cuda_kernels/batch_norm.cu); CUDA builds only. n is the
// body's work-item count (channels, or num * channels rows).
template <class T>
void launch_batch_norm_stats(Stream s, int64_t n, const kernels::BatchNormArgs& a, const T* x,
                             T* mean, T* var);
template <class T>
void launch_batch_norm_global_stats(Stream s, int64_t n, T factor, const T* mean_sum,
                                    const T* var_sum, T* mean, T* var);
template <class T>
void launch_batch_norm_moving_update(Stream s, int64_t n, const T* mean, const T* var, T fraction,
                                     T correction, T* mean_sum, T* var_sum);
template <class T>
void launch_batch_norm_inv_std(Stream s, int64_t n, const T* var, T eps, T* inv_std);
template <class T>
void launch_batch_norm_forward(Stream s, int64_t n, const kernels::BatchNormArgs& a, const T* x,
                               const T* mean, const T* inv_std, T* y);
template <class T>
void launch_batch_norm_backward_sums(Stream s, int64_t n, const kernels::BatchNormArgs& a,
                                     const T* dy, const T* xnorm, T* sum_dy, T* sum_dy_xnorm);
template <class T>
void launch_batch_norm_backward(Stream s, int64_t n, const kernels::BatchNormArgs& a, const T* dy,
                                const T* xnorm, const T* sum_dy, const T* sum_dy_xnorm,
                                const T* gain, T* dx);

}  // namespace crema::cuda
