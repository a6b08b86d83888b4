/// Threshold kernel body (Caffe's Threshold: y = x > threshold ? 1 : 0; no gradient).
#pragma once

#include <cstdint>

#include "core/hd.h"
#include "cuda_kernels/launch.h"

namespace crema::kernels {

// Work item i: one element. Writes y[i] = x[i] > threshold ? 1 : 0. GATHER. y may alias x.
template <class T>
CREMA_HD inline void threshold_forward(int64_t i, T threshold, const T* x, T* y) {
  y[i] = x[i] > threshold ? T(1) : T(0);
}

}  // namespace crema::kernels

namespace crema::cuda {

/// Launchers of the bodies above (cuda_kernels/threshold.cu; CUDA builds only).
template <class T>
void launch_threshold_forward(Stream s, int64_t n, T threshold, const T* x, T* y);

}  // namespace crema::cuda
