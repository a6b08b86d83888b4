#include "cuda_kernels/launch.cuh"
#include "cuda_kernels/pad.h"

namespace crema::cuda {

template <class T>
void launch_pad_forward(Stream s, int64_t n, const kernels::PadArgs<T>& a, const T* x, T* y) {
  launch(s, n, "pad_forward", [=] __device__(int64_t i) { kernels::pad_forward(i, a, x, y); });
}

template <class T>
void launch_pad_backward(Stream s, int64_t n, const kernels::PadArgs<T>& a, const T* dy, T* dx) {
  launch(s, n, "pad_backward", [=] __device__(int64_t i) { kernels::pad_backward(i, a, dy, dx); });
}

#define CREMA_INSTANTIATE_PAD(T)                                                                  \
  template void launch_pad_forward<T>(Stream, int64_t, const kernels::PadArgs<T>&, const T*, T*); \
  template void launch_pad_backward<T>(Stream, int64_t, const kernels::PadArgs<T>&, const T*, T*);
CREMA_INSTANTIATE_PAD(float)
CREMA_INSTANTIATE_PAD(double)

}  // namespace crema::cuda
