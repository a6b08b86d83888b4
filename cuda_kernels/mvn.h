/// Mean-variance normalization kernel bodies (Caffe's MVN).
#pragma once

#include <cmath>
#include <cstdint>

#include "core/hd.h"
#include "cuda_kernels/launch.h"

namespace crema::kernels {

/// The bottom seen as rows of dim contiguous elements (one row per image, or per image and
/// channel); each row is normalized on its own.
template <class T>
struct MvnArgs {
  int64_t dim;
  bool normalize_variance;
  T eps;
};

// Work item: one row r. With m the row mean and s = sqrt(mean((x - m)^2)) (population
// variance), writes y = x - m, or (x - m) / (s + eps) with normalize_variance (Caffe puts eps
// outside the square root). Stores m in mean[r] and s in sigma[r]. Sums in index order. GATHER.
// y may alias x (in-place): x is read for the two sums before any y is written.
template <class T>
CREMA_HD inline void mvn_forward(int64_t r, const MvnArgs<T>& a, const T* x, T* mean, T* sigma,
                                 T* y) {
  const T* xr = x + r * a.dim;
  T* yr = y + r * a.dim;
  T sum = T(0);
  for (int64_t k = 0; k < a.dim; ++k) sum += xr[k];
  const T m = sum / static_cast<T>(a.dim);
  mean[r] = m;
  if (!a.normalize_variance) {
    for (int64_t k = 0; k < a.dim; ++k) yr[k] = xr[k] - m;
    return;
  }
  T sq = T(0);
  for (int64_t k = 0; k < a.dim; ++k) {
    const T d = xr[k] - m;
    sq += d * d;
  }
  const T s = std::sqrt(sq / static_cast<T>(a.dim));
  sigma[r] = s;
  const T denom = s + a.eps;
  for (int64_t k = 0; k < a.dim; ++k) yr[k] = (xr[k] - m) / denom;
}

// Work item: one row r. Reads the output y, dy and sigma[r]; writes
//   dx = dy - mean(dy)                                       without normalize_variance,
//   dx = (dy - mean(dy)) / (s + eps) - y * sum(y * dy) / (dim * s)   with it,
// the exact gradient of the forward above (Caffe divides the second term by s + eps instead of
// s, which is exact only for eps = 0). A constant row (s = 0) has y = 0 and drops the second
// term. GATHER. dx may alias dy (in-place): the sums are taken before any dx is written.
template <class T>
CREMA_HD inline void mvn_backward(int64_t r, const MvnArgs<T>& a, const T* y, const T* sigma,
                                  const T* dy, T* dx) {
  const T* yr = y + r * a.dim;
  const T* dyr = dy + r * a.dim;
  T* dxr = dx + r * a.dim;
  T sum_dy = T(0), sum_ydy = T(0);
  for (int64_t k = 0; k < a.dim; ++k) {
    sum_dy += dyr[k];
    sum_ydy += yr[k] * dyr[k];
  }
  const T n = static_cast<T>(a.dim);
  const T mean_dy = sum_dy / n;
  if (!a.normalize_variance) {
    for (int64_t k = 0; k < a.dim; ++k) dxr[k] = dyr[k] - mean_dy;
    return;
  }
  const T s = sigma[r];
  const T denom = s + a.eps;
  const T coeff = s > T(0) ? sum_ydy / (n * s) : T(0);
  for (int64_t k = 0; k < a.dim; ++k) dxr[k] = (dyr[k] - mean_dy) / denom - yr[k] * coeff;
}

}  // namespace crema::kernels

namespace crema::cuda {

/// Launchers of the bodies above (cuda_kernels/mvn.cu; CUDA builds only). n is the number of rows.
template <class T>
void launch_mvn_forward(Stream s, int64_t n, const kernels::MvnArgs<T>& a, const T* x, T* mean,
                        T* sigma, T* y);
template <class T>
void launch_mvn_backward(Stream s, int64_t n, const kernels::MvnArgs<T>& a, const T* y,
                         const T* sigma, const T* dy, T* dx);

}  // namespace crema::cuda
