#include "cuda_kernels/dropout.h"
#include "cuda_kernels/launch.cuh"

namespace crema::cuda {

template <class T>
void launch_dropout_forward(Stream s, int64_t n, const kernels::DropoutArgs<T>& a, const T* x,
                            uint8_t* mask, T* y) {
  launch(s, n, "dropout_forward",
         [=] __device__(int64_t i) { kernels::dropout_forward(i, a, x, mask, y); });
}

template <class T>
void launch_dropout_backward(Stream s, int64_t n, T scale, const uint8_t* mask, const T* dy,
                             T* dx) {
  launch(s, n, "dropout_backward",
         [=] __device__(int64_t i) { kernels::dropout_backward(i, scale, mask, dy, dx); });
}

#define CREMA_INSTANTIATE_DROPOUT(T)                                                       \
  template void launch_dropout_forward<T>(Stream, int64_t, const kernels::DropoutArgs<T>&, \
                                          const T*, uint8_t*, T*);                         \
  template void launch_dropout_backward<T>(Stream, int64_t, T, const uint8_t*, const T*, T*);
CREMA_INSTANTIATE_DROPOUT(float)
CREMA_INSTANTIATE_DROPOUT(double)

}  // namespace crema::cuda
