#include "cuda_kernels/absval.h"
#include "cuda_kernels/launch.cuh"

namespace crema::cuda {

template <class T>
void launch_absval_forward(Stream s, int64_t n, const T* x, T* y) {
  launch(s, n, "absval_forward", [=] __device__(int64_t i) { kernels::absval_forward(i, x, y); });
}

template <class T>
void launch_absval_backward(Stream s, int64_t n, const T* x, const T* dy, T* dx) {
  launch(s, n, "absval_backward",
         [=] __device__(int64_t i) { kernels::absval_backward(i, x, dy, dx); });
}

#define CREMA_INSTANTIATE_ABSVAL(T)                                      \
  template void launch_absval_forward<T>(Stream, int64_t, const T*, T*); \
  template void launch_absval_backward<T>(Stream, int64_t, const T*, const T*, T*);
CREMA_INSTANTIATE_ABSVAL(float)
CREMA_INSTANTIATE_ABSVAL(double)

}  // namespace crema::cuda
