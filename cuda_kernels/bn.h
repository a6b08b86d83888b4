/// Per-channel kernel bodies of the BN layer (yjxiong/caffe's batch norm with built-in
/// scale/shift). The batch statistics and the backward through them are the BatchNorm bodies
/// (cuda_kernels/batch_norm.h); the per-element affine map is the Scale body
/// (cuda_kernels/scale.h).
#pragma once

#include <cstdint>

#include "core/hd.h"
#include "cuda_kernels/batch_norm.h"
#include "cuda_kernels/launch.h"
#include "cuda_kernels/scale.h"

namespace crema::kernels {

/// Running averages of the fork. Work item: channel c. run = momentum * run + (1 - momentum) *
/// batch, for the mean and the biased variance. GATHER.
template <class T>
CREMA_HD inline void bn_running_update(int64_t c, const T* mean, const T* var, T momentum,
                                       T* run_mean, T* run_var) {
  run_mean[c] = momentum * run_mean[c] + (T(1) - momentum) * mean[c];
  run_var[c] = momentum * run_var[c] + (T(1) - momentum) * var[c];
}

/// Folds normalization and scale/shift into one per-channel affine map y = gain * x + bias:
/// gain = scale * inv_std, bias = shift - mean * gain. Work item: channel c. GATHER.
template <class T>
CREMA_HD inline void bn_fold(int64_t c, const T* scale, const T* shift, const T* mean,
                             const T* inv_std, T* gain, T* bias) {
  gain[c] = scale[c] * inv_std[c];
  bias[c] = shift[c] - mean[c] * gain[c];
}

}  // namespace crema::kernels

namespace crema::cuda {

// CUDA launchers of the bodies above (cuda_kernels/bn.cu); CUDA builds only. n is the number of
// channels.
template <class T>
void launch_bn_running_update(Stream s, int64_t n, const T* mean, const T* var, T momentum,
                              T* run_mean, T* run_var);
template <class T>
void launch_bn_fold(Stream s, int64_t n, const T* scale, const T* shift, const T* mean,
                    const T* inv_std, T* gain, T* bias);

}  // namespace crema::cuda
