#include "cuda_kernels/launch.cuh"
#include "cuda_kernels/multinomial_logistic_loss.h"

namespace crema::cuda {

template <class T>
void launch_multinomial_logistic_loss_forward(Stream s, int64_t n,
                                              const kernels::MultinomialLogisticLossArgs& a,
                                              const T* prob, const T* label, T* loss, T* state) {
  launch(s, n, "multinomial_logistic_loss_forward", [=] __device__(int64_t i) {
    kernels::multinomial_logistic_loss_forward(i, a, prob, label, loss, state);
  });
}

template <class T>
void launch_multinomial_logistic_loss_backward(Stream s, int64_t n,
                                               const kernels::MultinomialLogisticLossArgs& a,
                                               const T* prob, const T* label, T scale, T* dx) {
  launch(s, n, "multinomial_logistic_loss_backward", [=] __device__(int64_t j) {
    kernels::multinomial_logistic_loss_backward(j, a, prob, label, scale, dx);
  });
}

#define CREMA_INSTANTIATE_MULTINOMIAL_LOGISTIC_LOSS(T)                                           \
  template void launch_multinomial_logistic_loss_forward<T>(                                     \
      Stream, int64_t, const kernels::MultinomialLogisticLossArgs&, const T*, const T*, T*, T*); \
  template void launch_multinomial_logistic_loss_backward<T>(                                    \
      Stream, int64_t, const kernels::MultinomialLogisticLossArgs&, const T*, const T*, T, T*);
CREMA_INSTANTIATE_MULTINOMIAL_LOGISTIC_LOSS(float)
CREMA_INSTANTIATE_MULTINOMIAL_LOGISTIC_LOSS(double)

}  // namespace crema::cuda
