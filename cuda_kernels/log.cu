#include "cuda_kernels/launch.cuh"
#include "cuda_kernels/log.h"

namespace crema::cuda {

template <class T>
void launch_log_forward(Stream s, int64_t n, const kernels::LogArgs<T>& a, const T* x, T* y) {
  launch(s, n, "log_forward", [=] __device__(int64_t i) { kernels::log_forward(i, a, x, y); });
}

template <class T>
void launch_log_backward(Stream s, int64_t n, const kernels::LogArgs<T>& a, const T* x, const T* dy,
                         T* dx) {
  launch(s, n, "log_backward",
         [=] __device__(int64_t i) { kernels::log_backward(i, a, x, dy, dx); });
}

#define CREMA_INSTANTIATE_LOG(T)                                                                  \
  template void launch_log_forward<T>(Stream, int64_t, const kernels::LogArgs<T>&, const T*, T*); \
  template void launch_log_backward<T>(Stream, int64_t, const kernels::LogArgs<T>&, const T*,     \
                                       const T*, T*);
CREMA_INSTANTIATE_LOG(float)
CREMA_INSTANTIATE_LOG(double)

}  // namespace crema::cuda
