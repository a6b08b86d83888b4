#include "cuda_kernels/infogain_loss.h"
#include "cuda_kernels/launch.cuh"

namespace crema::cuda {

template <class T>
void launch_infogain_loss_forward(Stream s, int64_t n, const kernels::InfogainLossArgs& a,
                                  const T* prob, const T* label, const T* h, T* loss, T* state) {
  launch(s, n, "infogain_loss_forward", [=] __device__(int64_t i) {
    kernels::infogain_loss_forward(i, a, prob, label, h, loss, state);
  });
}

template <class T>
void launch_infogain_loss_backward(Stream s, int64_t n, const kernels::InfogainLossArgs& a,
                                   const T* prob, const T* label, const T* h, T scale, T* dx) {
  launch(s, n, "infogain_loss_backward", [=] __device__(int64_t i) {
    kernels::infogain_loss_backward(i, a, prob, label, h, scale, dx);
  });
}

#define CREMA_INSTANTIATE_INFOGAIN_LOSS(T)                                                         \
  template void launch_infogain_loss_forward<T>(Stream, int64_t, const kernels::InfogainLossArgs&, \
                                                const T*, const T*, const T*, T*, T*);             \
  template void launch_infogain_loss_backward<T>(                                                  \
      Stream, int64_t, const kernels::InfogainLossArgs&, const T*, const T*, const T*, T, T*);
CREMA_INSTANTIATE_INFOGAIN_LOSS(float)
CREMA_INSTANTIATE_INFOGAIN_LOSS(double)

}  // namespace crema::cuda
