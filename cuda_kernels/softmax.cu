#include "cuda_kernels/launch.cuh"
#include "cuda_kernels/softmax.h"

namespace crema::cuda {

template <class T>
void launch_softmax_forward(Stream s, int64_t n, const kernels::SoftmaxArgs& a, const T* x, T* y) {
  launch(s, n, "softmax_forward",
         [=] __device__(int64_t i) { kernels::softmax_forward(i, a, x, y); });
}

template <class T>
void launch_softmax_backward(Stream s, int64_t n, const kernels::SoftmaxArgs& a, const T* y,
                             const T* dy, T* dx) {
  launch(s, n, "softmax_backward",
         [=] __device__(int64_t i) { kernels::softmax_backward(i, a, y, dy, dx); });
}

#define CREMA_INSTANTIATE_SOFTMAX(T)                                                               \
  template void launch_softmax_forward<T>(Stream, int64_t, const kernels::SoftmaxArgs&, const T*,  \
                                          T*);                                                     \
  template void launch_softmax_backward<T>(Stream, int64_t, const kernels::SoftmaxArgs&, const T*, \
                                           const T*, T*);
CREMA_INSTANTIATE_SOFTMAX(float)
CREMA_INSTANTIATE_SOFTMAX(double)

}  // namespace crema::cuda
