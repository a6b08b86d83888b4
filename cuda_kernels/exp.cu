#include "cuda_kernels/exp.h"
#include "cuda_kernels/launch.cuh"

namespace crema::cuda {

template <class T>
void launch_exp_forward(Stream s, int64_t n, const kernels::ExpArgs<T>& a, const T* x, T* y) {
  launch(s, n, "exp_forward", [=] __device__(int64_t i) { kernels::exp_forward(i, a, x, y); });
}

template <class T>
void launch_exp_backward(Stream s, int64_t n, const kernels::ExpArgs<T>& a, const T* y, const T* dy,
                         T* dx) {
  launch(s, n, "exp_backward",
         [=] __device__(int64_t i) { kernels::exp_backward(i, a, y, dy, dx); });
}

#define CREMA_INSTANTIATE_EXP(T)                                                                  \
  template void launch_exp_forward<T>(Stream, int64_t, const kernels::ExpArgs<T>&, const T*, T*); \
  template void launch_exp_backward<T>(Stream, int64_t, const kernels::ExpArgs<T>&, const T*,     \
                                       const T*, T*);
CREMA_INSTANTIATE_EXP(float)
CREMA_INSTANTIATE_EXP(double)

}  // namespace crema::cuda
