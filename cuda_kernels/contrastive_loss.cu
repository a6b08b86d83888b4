#include "cuda_kernels/contrastive_loss.h"
#include "cuda_kernels/launch.cuh"

namespace crema::cuda {

template <class T>
void launch_contrastive_loss_forward(Stream s, int64_t n, const kernels::ContrastiveLossArgs& a,
                                     const T* x0, const T* x1, const T* y, T* diff, T* dist_sq,
                                     T* loss, T* state) {
  launch(s, n, "contrastive_loss_forward", [=] __device__(int64_t i) {
    kernels::contrastive_loss_forward(i, a, x0, x1, y, diff, dist_sq, loss, state);
  });
}

template <class T>
void launch_contrastive_loss_backward(Stream s, int64_t n, const kernels::ContrastiveLossArgs& a,
                                      const T* y, const T* diff, const T* dist_sq, T alpha, T* dx) {
  launch(s, n, "contrastive_loss_backward", [=] __device__(int64_t j) {
    kernels::contrastive_loss_backward(j, a, y, diff, dist_sq, alpha, dx);
  });
}

#define CREMA_INSTANTIATE_CONTRASTIVE_LOSS(T)                                                     \
  template void launch_contrastive_loss_forward<T>(Stream, int64_t,                               \
                                                   const kernels::ContrastiveLossArgs&, const T*, \
                                                   const T*, const T*, T*, T*, T*, T*);           \
  template void launch_contrastive_loss_backward<T>(                                              \
      Stream, int64_t, const kernels::ContrastiveLossArgs&, const T*, const T*, const T*, T, T*);
CREMA_INSTANTIATE_CONTRASTIVE_LOSS(float)
CREMA_INSTANTIATE_CONTRASTIVE_LOSS(double)

}  // namespace crema::cuda
