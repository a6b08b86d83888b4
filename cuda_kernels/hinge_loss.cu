#include "cuda_kernels/hinge_loss.h"
#include "cuda_kernels/launch.cuh"

namespace crema::cuda {

template <class T>
void launch_hinge_loss_forward(Stream s, int64_t n, const kernels::HingeLossArgs& a, const T* x,
                               const T* label, T* loss, T* state) {
  launch(s, n, "hinge_loss_forward",
         [=] __device__(int64_t i) { kernels::hinge_loss_forward(i, a, x, label, loss, state); });
}

template <class T>
void launch_hinge_loss_backward(Stream s, int64_t n, const kernels::HingeLossArgs& a, const T* x,
                                const T* label, T scale, T* dx) {
  launch(s, n, "hinge_loss_backward",
         [=] __device__(int64_t j) { kernels::hinge_loss_backward(j, a, x, label, scale, dx); });
}

#define CREMA_INSTANTIATE_HINGE_LOSS(T)                                                       \
  template void launch_hinge_loss_forward<T>(Stream, int64_t, const kernels::HingeLossArgs&,  \
                                             const T*, const T*, T*, T*);                     \
  template void launch_hinge_loss_backward<T>(Stream, int64_t, const kernels::HingeLossArgs&, \
                                              const T*, const T*, T, T*);
CREMA_INSTANTIATE_HINGE_LOSS(float)
CREMA_INSTANTIATE_HINGE_LOSS(double)

}  // namespace crema::cuda
