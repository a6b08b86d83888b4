/// Kernel bodies of L1Loss: a blocked sum of |a - b| and its subgradient.
#pragma once

#include <cmath>
#include <cstdint>

#include "core/hd.h"
#include "cuda_kernels/launch.h"

namespace crema::kernels {

struct L1LossArgs {
  int64_t count = 0;  ///< elements in each bottom
  int64_t block = 0;  ///< elements per forward work item
};

/// Partial sum of |a - b| over one block. Work item i in [0, ceil(count / block)) covers
/// elements [i * block, min(count, (i+1) * block)). Writes partial[i]: GATHER; the host adds the
/// partials in order.
template <class T>
CREMA_HD inline void l1_loss_forward(int64_t i, const L1LossArgs& a, const T* x0, const T* x1,
                                     double* partial) {
  const int64_t begin = i * a.block, end = hd::min(a.count, begin + a.block);
  double sum = 0;
  for (int64_t j = begin; j < end; ++j)
    sum += std::fabs(static_cast<double>(x0[j]) - static_cast<double>(x1[j]));
  partial[i] = sum;
}

/// dx = alpha * sign(a - b), sign(0) = 0 (the subgradient 0 at the kink); alpha = +-w / N.
/// Work item j in [0, count): one element; GATHER.
template <class T>
CREMA_HD inline void l1_loss_backward(int64_t j, const T* x0, const T* x1, T alpha, T* dx) {
  const T d = x0[j] - x1[j];
  dx[j] = alpha * static_cast<T>((T(0) < d) - (d < T(0)));
}

}  // namespace crema::kernels

namespace crema::cuda {

// CUDA launchers of the bodies above (cuda_kernels/l1_loss.cu); CUDA builds only.
template <class T>
void launch_l1_loss_forward(Stream s, int64_t n, const kernels::L1LossArgs& a, const T* x0,
                            const T* x1, double* partial);
template <class T>
void launch_l1_loss_backward(Stream s, int64_t n, const T* x0, const T* x1, T alpha, T* dx);

}  // namespace crema::cuda
