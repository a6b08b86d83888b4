#include "cuda_kernels/launch.cuh"
#include "cuda_kernels/sigmoid_cross_entropy_loss.h"

namespace crema::cuda {

template <class T>
void launch_sigmoid_ce_loss_forward(Stream s, int64_t n,
                                    const kernels::SigmoidCrossEntropyLossArgs& a, const T* x,
                                    const T* t, double* loss, double* valid) {
  launch(s, n, "sigmoid_ce_loss_forward",
         [=] __device__(int64_t i) { kernels::sigmoid_ce_loss_forward(i, a, x, t, loss, valid); });
}

template <class T>
void launch_sigmoid_ce_loss_backward(Stream s, int64_t n,
                                     const kernels::SigmoidCrossEntropyLossArgs& a, const T* x,
                                     const T* t, T scale, T* dx) {
  launch(s, n, "sigmoid_ce_loss_backward",
         [=] __device__(int64_t j) { kernels::sigmoid_ce_loss_backward(j, a, x, t, scale, dx); });
}

#define CREMA_INSTANTIATE_SIGMOID_CROSS_ENTROPY_LOSS(T)                                        \
  template void launch_sigmoid_ce_loss_forward<T>(Stream, int64_t,                             \
                                                  const kernels::SigmoidCrossEntropyLossArgs&, \
                                                  const T*, const T*, double*, double*);       \
  template void launch_sigmoid_ce_loss_backward<T>(                                            \
      Stream, int64_t, const kernels::SigmoidCrossEntropyLossArgs&, const T*, const T*, T, T*);
CREMA_INSTANTIATE_SIGMOID_CROSS_ENTROPY_LOSS(float)
CREMA_INSTANTIATE_SIGMOID_CROSS_ENTROPY_LOSS(double)

}  // namespace crema::cuda
