#include "cuda_kernels/launch.cuh"
#include "cuda_kernels/softmax_loss.h"

namespace crema::cuda {

template <class T>
void launch_softmax_loss_forward(Stream s, int64_t n, const kernels::SoftmaxLossArgs& a,
                                 const T* prob, const T* label, T* loss, T* state) {
  launch(s, n, "softmax_loss_forward", [=] __device__(int64_t i) {
    kernels::softmax_loss_forward(i, a, prob, label, loss, state);
  });
}

template <class T>
void launch_softmax_loss_backward(Stream s, int64_t n, const kernels::SoftmaxLossArgs& a,
                                  const T* prob, const T* label, T scale, T* dx) {
  launch(s, n, "softmax_loss_backward", [=] __device__(int64_t i) {
    kernels::softmax_loss_backward(i, a, prob, label, scale, dx);
  });
}

#define CREMA_INSTANTIATE_SOFTMAX_LOSS(T)                                                     \
  template void launch_softmax_loss_forward<T>(Stream, int64_t, const kernels::SoftmaxLossArgs&, \
                                               const T*, const T*, T*, T*);                      \
  template void launch_softmax_loss_backward<T>(Stream, int64_t,                                 \
                                                const kernels::SoftmaxLossArgs&, const T*,       \
                                                const T*, T, T*);
CREMA_INSTANTIATE_SOFTMAX_LOSS(float)
CREMA_INSTANTIATE_SOFTMAX_LOSS(double)

}  // namespace crema::cuda
