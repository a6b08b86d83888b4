/// Kernel bodies of SmoothL1Loss (Fast R-CNN, Girshick 2015, eq. 3 with sigma).
#pragma once

#include <cmath>
#include <cstdint>

#include "core/hd.h"
#include "cuda_kernels/launch.h"

namespace crema::kernels {

struct SmoothL1LossArgs {
  int64_t count = 0;  ///< elements in each bottom
  int64_t block = 0;  ///< elements per forward work item
  double sigma2 = 1;  ///< sigma^2: quadratic for |d| < 1 / sigma^2
};

/// d = w_in * (a - b) of element j (w_in = 1 without weights).
template <class T>
CREMA_HD inline T smooth_l1_diff(int64_t j, const T* x0, const T* x1, const T* w_in) {
  return (x0[j] - x1[j]) * (w_in ? w_in[j] : T(1));
}

/// Partial sum over one block of w_out * f(d), f(d) = 0.5 sigma^2 d^2 for |d| < 1 / sigma^2,
/// |d| - 0.5 / sigma^2 otherwise. Work item i in [0, ceil(count / block)) covers elements
/// [i * block, min(count, (i+1) * block)). Writes partial[i]: GATHER; the host adds the
/// partials in order.
template <class T>
CREMA_HD inline void smooth_l1_loss_forward(int64_t i, const SmoothL1LossArgs& a, const T* x0,
                                            const T* x1, const T* w_in, const T* w_out,
                                            double* partial) {
  const int64_t begin = i * a.block, end = hd::min(a.count, begin + a.block);
  double sum = 0;
  for (int64_t j = begin; j < end; ++j) {
    const double d = smooth_l1_diff(j, x0, x1, w_in);
    const double ad = std::fabs(d);
    const double f = ad < 1.0 / a.sigma2 ? 0.5 * a.sigma2 * d * d : ad - 0.5 / a.sigma2;
    sum += f * (w_out ? static_cast<double>(w_out[j]) : 1.0);
  }
  partial[i] = sum;
}

/// dx = alpha * w_in * w_out * f'(d), f'(d) = sigma^2 d inside the quadratic region, sign(d)
/// outside; alpha = +-w / N (+ for a, - for b). Work item j in [0, count): one element; GATHER.
template <class T>
CREMA_HD inline void smooth_l1_loss_backward(int64_t j, const SmoothL1LossArgs& a, const T* x0,
                                             const T* x1, const T* w_in, const T* w_out, T alpha,
                                             T* dx) {
  const T d = smooth_l1_diff(j, x0, x1, w_in);
  const T sigma2 = static_cast<T>(a.sigma2);
  const T g = std::fabs(d) < T(1) / sigma2 ? sigma2 * d : static_cast<T>((T(0) < d) - (d < T(0)));
  dx[j] = alpha * g * (w_in ? w_in[j] : T(1)) * (w_out ? w_out[j] : T(1));
}

}  // namespace crema::kernels

namespace crema::cuda {

// CUDA launchers of the bodies above (cuda_kernels/smooth_l1_loss.cu); CUDA builds only.
// w_in and w_out may be null (no weights).
template <class T>
void launch_smooth_l1_loss_forward(Stream s, int64_t n, const kernels::SmoothL1LossArgs& a,
                                   const T* x0, const T* x1, const T* w_in, const T* w_out,
                                   double* partial);
template <class T>
void launch_smooth_l1_loss_backward(Stream s, int64_t n, const kernels::SmoothL1LossArgs& a,
                                    const T* x0, const T* x1, const T* w_in, const T* w_out,
                                    T alpha, T* dx);

}  // namespace crema::cuda
