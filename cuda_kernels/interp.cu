#include "cuda_kernels/interp.h"
#include "cuda_kernels/launch.cuh"

namespace crema::cuda {

template <class T>
void launch_interp_forward(Stream s, int64_t n, const kernels::InterpArgs<T>& a, const T* x, T* y) {
  launch(s, n, "interp_forward",
         [=] __device__(int64_t i) { kernels::interp_forward(i, a, x, y); });
}

template <class T>
void launch_interp_backward(Stream s, int64_t n, const kernels::InterpArgs<T>& a, const T* dy,
                            T* dx) {
  launch(s, n, "interp_backward",
         [=] __device__(int64_t i) { kernels::interp_backward(i, a, dy, dx); });
}

#define CREMA_INSTANTIATE_INTERP(T)                                                                \
  template void launch_interp_forward<T>(Stream, int64_t, const kernels::InterpArgs<T>&, const T*, \
                                         T*);                                                      \
  template void launch_interp_backward<T>(Stream, int64_t, const kernels::InterpArgs<T>&,          \
                                          const T*, T*);
CREMA_INSTANTIATE_INTERP(float)
CREMA_INSTANTIATE_INTERP(double)

}  // namespace crema::cuda
