#include "cuda_kernels/launch.cuh"
#include "cuda_kernels/tanh.h"

namespace crema::cuda {

template <class T>
void launch_tanh_forward(Stream s, int64_t n, const T* x, T* y) {
  launch(s, n, "tanh_forward", [=] __device__(int64_t i) { kernels::tanh_forward(i, x, y); });
}

template <class T>
void launch_tanh_backward(Stream s, int64_t n, const T* y, const T* dy, T* dx) {
  launch(s, n, "tanh_backward",
         [=] __device__(int64_t i) { kernels::tanh_backward(i, y, dy, dx); });
}

#define CREMA_INSTANTIATE_TANH(T)                                      \
  template void launch_tanh_forward<T>(Stream, int64_t, const T*, T*); \
  template void launch_tanh_backward<T>(Stream, int64_t, const T*, const T*, T*);
CREMA_INSTANTIATE_TANH(float)
CREMA_INSTANTIATE_TANH(double)

}  // namespace crema::cuda
