#include "cuda_kernels/batch_norm.h"
#include "cuda_kernels/launch.cuh"

namespace crema::cuda {

template <class T>
void launch_batch_norm_stats(Stream s, int64_t n, const kernels::BatchNormArgs& a, const T* x,
                             T* mean, T* var) {
  launch(s, n, "batch_norm_stats",
         [=] __device__(int64_t c) { kernels::batch_norm_stats(c, a, x, mean, var); });
}

template <class T>
void launch_batch_norm_global_stats(Stream s, int64_t n, T factor, const T* mean_sum,
                                    const T* var_sum, T* mean, T* var) {
  launch(s, n, "batch_norm_global_stats", [=] __device__(int64_t c) {
    kernels::batch_norm_global_stats(c, factor, mean_sum, var_sum, mean, var);
  });
}

template <class T>
void launch_batch_norm_moving_update(Stream s, int64_t n, const T* mean, const T* var, T fraction,
                                     T correction, T* mean_sum, T* var_sum) {
  launch(s, n, "batch_norm_moving_update", [=] __device__(int64_t c) {
    kernels::batch_norm_moving_update(c, mean, var, fraction, correction, mean_sum, var_sum);
  });
}

template <class T>
void launch_batch_norm_inv_std(Stream s, int64_t n, const T* var, T eps, T* inv_std) {
  launch(s, n, "batch_norm_inv_std",
         [=] __device__(int64_t c) { kernels::batch_norm_inv_std(c, var, eps, inv_std); });
}

template <class T>
void launch_batch_norm_forward(Stream s, int64_t n, const kernels::BatchNormArgs& a, const T* x,
                               const T* mean, const T* inv_std, T* y) {
  launch(s, n, "batch_norm_forward",
         [=] __device__(int64_t i) { kernels::batch_norm_forward(i, a, x, mean, inv_std, y); });
}

template <class T>
void launch_batch_norm_backward_sums(Stream s, int64_t n, const kernels::BatchNormArgs& a,
                                     const T* dy, const T* xnorm, T* sum_dy, T* sum_dy_xnorm) {
  launch(s, n, "batch_norm_backward_sums", [=] __device__(int64_t c) {
    kernels::batch_norm_backward_sums(c, a, dy, xnorm, sum_dy, sum_dy_xnorm);
  });
}

template <class T>
void launch_batch_norm_backward(Stream s, int64_t n, const kernels::BatchNormArgs& a, const T* dy,
                                const T* xnorm, const T* sum_dy, const T* sum_dy_xnorm,
                                const T* gain, T* dx) {
  launch(s, n, "batch_norm_backward", [=] __device__(int64_t i) {
    kernels::batch_norm_backward(i, a, dy, xnorm, sum_dy, sum_dy_xnorm, gain, dx);
  });
}

#define CREMA_INSTANTIATE_BATCH_NORM(T)                                                           \
  template void launch_batch_norm_stats<T>(Stream, int64_t, const kernels::BatchNormArgs&,        \
                                           const T*, T*, T*);                                     \
  template void launch_batch_norm_global_stats<T>(Stream, int64_t, T, const T*, const T*, T*, T*); \
  template void launch_batch_norm_moving_update<T>(Stream, int64_t, const T*, const T*, T, T, T*, \
                                                   T*);                                           \
  template void launch_batch_norm_inv_std<T>(Stream, int64_t, const T*, T, T*);                   \
  template void launch_batch_norm_forward<T>(Stream, int64_t, const kernels::BatchNormArgs&,      \
                                             const T*, const T*, const T*, T*);                   \
  template void launch_batch_norm_backward_sums<T>(Stream, int64_t,                               \
                                                   const kernels::BatchNormArgs&, const T*,       \
                                                   const T*, T*, T*);                             \
  template void launch_batch_norm_backward<T>(Stream, int64_t, const kernels::BatchNormArgs&,     \
                                              const T*, const T*, const T*, const T*, const T*,   \
                                              T*);
CREMA_INSTANTIATE_BATCH_NORM(float)
CREMA_INSTANTIATE_BATCH_NORM(double)

}  // namespace crema::cuda
