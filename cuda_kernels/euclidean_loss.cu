#include "cuda_kernels/euclidean_loss.h"
#include "cuda_kernels/launch.cuh"

namespace crema::cuda {

template <class T>
void launch_euclidean_loss_forward(Stream s, int64_t n, const kernels::EuclideanLossArgs& a,
                                   const T* x0, const T* x1, T* diff, double* partial) {
  launch(s, n, "euclidean_loss_forward", [=] __device__(int64_t i) {
    kernels::euclidean_loss_forward(i, a, x0, x1, diff, partial);
  });
}

template <class T>
void launch_euclidean_loss_backward(Stream s, int64_t n, T alpha, const T* diff, T* dx) {
  launch(s, n, "euclidean_loss_backward",
         [=] __device__(int64_t i) { kernels::euclidean_loss_backward(i, alpha, diff, dx); });
}

#define CREMA_INSTANTIATE_EUCLIDEAN_LOSS(T)                                                 \
  template void launch_euclidean_loss_forward<T>(                                           \
      Stream, int64_t, const kernels::EuclideanLossArgs&, const T*, const T*, T*, double*); \
  template void launch_euclidean_loss_backward<T>(Stream, int64_t, T, const T*, T*);
CREMA_INSTANTIATE_EUCLIDEAN_LOSS(float)
CREMA_INSTANTIATE_EUCLIDEAN_LOSS(double)

}  // namespace crema::cuda
