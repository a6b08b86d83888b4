#include "cuda_kernels/l1_loss.h"
#include "cuda_kernels/launch.cuh"

namespace crema::cuda {

template <class T>
void launch_l1_loss_forward(Stream s, int64_t n, const kernels::L1LossArgs& a, const T* x0,
                            const T* x1, double* partial) {
  launch(s, n, "l1_loss_forward",
         [=] __device__(int64_t i) { kernels::l1_loss_forward(i, a, x0, x1, partial); });
}

template <class T>
void launch_l1_loss_backward(Stream s, int64_t n, const T* x0, const T* x1, T alpha, T* dx) {
  launch(s, n, "l1_loss_backward",
         [=] __device__(int64_t j) { kernels::l1_loss_backward(j, x0, x1, alpha, dx); });
}

#define CREMA_INSTANTIATE_L1_LOSS(T)                                                             \
  template void launch_l1_loss_forward<T>(Stream, int64_t, const kernels::L1LossArgs&, const T*, \
                                          const T*, double*);                                    \
  template void launch_l1_loss_backward<T>(Stream, int64_t, const T*, const T*, T, T*);
CREMA_INSTANTIATE_L1_LOSS(float)
CREMA_INSTANTIATE_L1_LOSS(double)

}  // namespace crema::cuda
