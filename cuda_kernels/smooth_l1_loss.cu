#include "cuda_kernels/launch.cuh"
#include "cuda_kernels/smooth_l1_loss.h"

namespace crema::cuda {

template <class T>
void launch_smooth_l1_loss_forward(Stream s, int64_t n, const kernels::SmoothL1LossArgs& a,
                                   const T* x0, const T* x1, const T* w_in, const T* w_out,
                                   double* partial) {
  launch(s, n, "smooth_l1_loss_forward", [=] __device__(int64_t i) {
    kernels::smooth_l1_loss_forward(i, a, x0, x1, w_in, w_out, partial);
  });
}

template <class T>
void launch_smooth_l1_loss_backward(Stream s, int64_t n, const kernels::SmoothL1LossArgs& a,
                                    const T* x0, const T* x1, const T* w_in, const T* w_out,
                                    T alpha, T* dx) {
  launch(s, n, "smooth_l1_loss_backward", [=] __device__(int64_t j) {
    kernels::smooth_l1_loss_backward(j, a, x0, x1, w_in, w_out, alpha, dx);
  });
}

#define CREMA_INSTANTIATE_SMOOTH_L1_LOSS(T)                                                   \
  template void launch_smooth_l1_loss_forward<T>(Stream, int64_t,                             \
                                                 const kernels::SmoothL1LossArgs&, const T*,  \
                                                 const T*, const T*, const T*, double*);      \
  template void launch_smooth_l1_loss_backward<T>(Stream, int64_t,                            \
                                                  const kernels::SmoothL1LossArgs&, const T*, \
                                                  const T*, const T*, const T*, T, T*);
CREMA_INSTANTIATE_SMOOTH_L1_LOSS(float)
CREMA_INSTANTIATE_SMOOTH_L1_LOSS(double)

}  // namespace crema::cuda
