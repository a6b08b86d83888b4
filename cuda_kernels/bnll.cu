#include "cuda_kernels/bnll.h"
#include "cuda_kernels/launch.cuh"

namespace crema::cuda {

template <class T>
void launch_bnll_forward(Stream s, int64_t n, const T* x, T* y) {
  launch(s, n, "bnll_forward", [=] __device__(int64_t i) { kernels::bnll_forward(i, x, y); });
}

template <class T>
void launch_bnll_backward(Stream s, int64_t n, const T* y, const T* dy, T* dx) {
  launch(s, n, "bnll_backward",
         [=] __device__(int64_t i) { kernels::bnll_backward(i, y, dy, dx); });
}

#define CREMA_INSTANTIATE_BNLL(T)                                      \
  template void launch_bnll_forward<T>(Stream, int64_t, const T*, T*); \
  template void launch_bnll_backward<T>(Stream, int64_t, const T*, const T*, T*);
CREMA_INSTANTIATE_BNLL(float)
CREMA_INSTANTIATE_BNLL(double)

}  // namespace crema::cuda
