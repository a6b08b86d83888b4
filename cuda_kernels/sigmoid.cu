#include "cuda_kernels/launch.cuh"
#include "cuda_kernels/sigmoid.h"

namespace crema::cuda {

template <class T>
void launch_sigmoid_forward(Stream s, int64_t n, const T* x, T* y) {
  launch(s, n, "sigmoid_forward", [=] __device__(int64_t i) { kernels::sigmoid_forward(i, x, y); });
}

template <class T>
void launch_sigmoid_backward(Stream s, int64_t n, const T* y, const T* dy, T* dx) {
  launch(s, n, "sigmoid_backward",
         [=] __device__(int64_t i) { kernels::sigmoid_backward(i, y, dy, dx); });
}

#define CREMA_INSTANTIATE_SIGMOID(T)                                      \
  template void launch_sigmoid_forward<T>(Stream, int64_t, const T*, T*); \
  template void launch_sigmoid_backward<T>(Stream, int64_t, const T*, const T*, T*);
CREMA_INSTANTIATE_SIGMOID(float)
CREMA_INSTANTIATE_SIGMOID(double)

}  // namespace crema::cuda
