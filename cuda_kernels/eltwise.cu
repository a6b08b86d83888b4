#include "cuda_kernels/eltwise.h"
#include "cuda_kernels/launch.cuh"

namespace crema::cuda {

template <class T>
void launch_eltwise_forward(Stream s, int64_t n, const kernels::EltwiseArgs& a, const T* const* x,
                            const T* coeff, T* y, int32_t* arg) {
  launch(s, n, "eltwise_forward",
         [=] __device__(int64_t i) { kernels::eltwise_forward(i, a, x, coeff, y, arg); });
}

template <class T>
void launch_eltwise_backward(Stream s, int64_t n, const kernels::EltwiseArgs& a, int b,
                             const T* const* x, const T* coeff, const T* y, const T* dy,
                             const int32_t* arg, T* dx) {
  launch(s, n, "eltwise_backward", [=] __device__(int64_t i) {
    kernels::eltwise_backward(i, a, b, x, coeff, y, dy, arg, dx);
  });
}

#define CREMA_INSTANTIATE_ELTWISE(T)                                                          \
  template void launch_eltwise_forward<T>(Stream, int64_t, const kernels::EltwiseArgs&,       \
                                          const T* const*, const T*, T*, int32_t*);           \
  template void launch_eltwise_backward<T>(Stream, int64_t, const kernels::EltwiseArgs&, int, \
                                           const T* const*, const T*, const T*, const T*,     \
                                           const int32_t*, T*);
CREMA_INSTANTIATE_ELTWISE(float)
CREMA_INSTANTIATE_ELTWISE(double)

}  // namespace crema::cuda
