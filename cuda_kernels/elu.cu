#include "cuda_kernels/elu.h"
#include "cuda_kernels/launch.cuh"

namespace crema::cuda {

template <class T>
void launch_elu_forward(Stream s, int64_t n, const kernels::EluArgs<T>& a, const T* x, T* y) {
  launch(s, n, "elu_forward", [=] __device__(int64_t i) { kernels::elu_forward(i, a, x, y); });
}

template <class T>
void launch_elu_backward(Stream s, int64_t n, const kernels::EluArgs<T>& a, const T* v, const T* y,
                         const T* dy, T* dx) {
  launch(s, n, "elu_backward",
         [=] __device__(int64_t i) { kernels::elu_backward(i, a, v, y, dy, dx); });
}

#define CREMA_INSTANTIATE_ELU(T)                                                                  \
  template void launch_elu_forward<T>(Stream, int64_t, const kernels::EluArgs<T>&, const T*, T*); \
  template void launch_elu_backward<T>(Stream, int64_t, const kernels::EluArgs<T>&, const T*,     \
                                       const T*, const T*, T*);
CREMA_INSTANTIATE_ELU(float)
CREMA_INSTANTIATE_ELU(double)

}  // namespace crema::cuda
