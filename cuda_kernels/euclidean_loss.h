/// Kernel bodies of EuclideanLoss: a blocked sum of squared differences and its gradient.
#pragma once

#include <cstdint>

#include "core/hd.h"
#include "cuda_kernels/launch.h"

namespace crema::kernels {

struct EuclideanLossArgs {
  int64_t count = 0;  ///< elements in each bottom
  int64_t block = 0;  ///< elements per forward work item
};

/// diff = a - b and the partial sum of diff^2 over one block.
/// Work item i in [0, ceil(count / block)) covers elements [i * block, min(count, (i+1) * block)).
/// Writes diff on that range and partial[i]: GATHER. The host adds the partials in order, so
/// the loss does not depend on the thread count.
template <class T>
CREMA_HD inline void euclidean_loss_forward(int64_t i, const EuclideanLossArgs& a, const T* x0,
                                            const T* x1, T* diff, double* partial) {
  const int64_t begin = i * a.block, end = hd::min(a.count, begin + a.block);
  double sum = 0;
  for (int64_t j = begin; j < end; ++j) {
    diff[j] = x0[j] - x1[j];
    sum += static_cast<double>(diff[j]) * diff[j];
  }
  partial[i] = sum;
}

/// dx = alpha * diff. Work item i in [0, count): one element; GATHER.
template <class T>
CREMA_HD inline void euclidean_loss_backward(int64_t i, T alpha, const T* diff, T* dx) {
  dx[i] = alpha * diff[i];
}

}  // namespace crema::kernels

namespace crema::cuda {

// CUDA launchers of the bodies above (cuda_kernels/euclidean_loss.cu); CUDA builds only.
template <class T>
void launch_euclidean_loss_forward(Stream s, int64_t n, const kernels::EuclideanLossArgs& a,
                                   const T* x0, const T* x1, T* diff, double* partial);
template <class T>
void launch_euclidean_loss_backward(Stream s, int64_t n, T alpha, const T* diff, T* dx);

}  // namespace crema::cuda
