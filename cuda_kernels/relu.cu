#include "cuda_kernels/launch.cuh"
#include "cuda_kernels/relu.h"

namespace crema::cuda {

template <class T>
void launch_relu_forward(Stream s, int64_t n, const kernels::ReluArgs<T>& a, const T* x, T* y) {
  launch(s, n, "relu_forward", [=] __device__(int64_t i) { kernels::relu_forward(i, a, x, y); });
}

template <class T>
void launch_relu_backward(Stream s, int64_t n, const kernels::ReluArgs<T>& a, const T* v,
                          const T* dy, T* dx) {
  launch(s, n, "relu_backward",
         [=] __device__(int64_t i) { kernels::relu_backward(i, a, v, dy, dx); });
}

#define CREMA_INSTANTIATE_RELU(T)                                                             \
  template void launch_relu_forward<T>(Stream, int64_t, const kernels::ReluArgs<T>&, const T*, \
                                       T*);                                                    \
  template void launch_relu_backward<T>(Stream, int64_t, const kernels::ReluArgs<T>&,          \
                                        const T*, const T*, T*);
CREMA_INSTANTIATE_RELU(float)
CREMA_INSTANTIATE_RELU(double)

}  // namespace crema::cuda
