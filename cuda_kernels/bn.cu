#include "cuda_kernels/bn.h"
#include "cuda_kernels/launch.cuh"

namespace crema::cuda {

template <class T>
void launch_bn_running_update(Stream s, int64_t n, const T* mean, const T* var, T momentum,
                              T* run_mean, T* run_var) {
  launch(s, n, "bn_running_update", [=] __device__(int64_t c) {
    kernels::bn_running_update(c, mean, var, momentum, run_mean, run_var);
  });
}

template <class T>
void launch_bn_fold(Stream s, int64_t n, const T* scale, const T* shift, const T* mean,
                    const T* inv_std, T* gain, T* bias) {
  launch(s, n, "bn_fold", [=] __device__(int64_t c) {
    kernels::bn_fold(c, scale, shift, mean, inv_std, gain, bias);
  });
}

#define CREMA_INSTANTIATE_BN(T)                                                              \
  template void launch_bn_running_update<T>(Stream, int64_t, const T*, const T*, T, T*, T*); \
  template void launch_bn_fold<T>(Stream, int64_t, const T*, const T*, const T*, const T*, T*, T*);
CREMA_INSTANTIATE_BN(float)
CREMA_INSTANTIATE_BN(double)

}  // namespace crema::cuda
