#include "cuda_kernels/launch.cuh"
#include "cuda_kernels/upsample.h"

namespace crema::cuda {

template <class T>
void launch_upsample_forward(Stream s, int64_t n, const kernels::UpsampleArgs& a, const T* x,
                             T* y) {
  launch(s, n, "upsample_forward",
         [=] __device__(int64_t i) { kernels::upsample_forward(i, a, x, y); });
}

template <class T>
void launch_upsample_backward(Stream s, int64_t n, const kernels::UpsampleArgs& a, const T* dy,
                              T* dx) {
  launch(s, n, "upsample_backward",
         [=] __device__(int64_t i) { kernels::upsample_backward(i, a, dy, dx); });
}

#define CREMA_INSTANTIATE_UPSAMPLE(T)                                                      \
  template void launch_upsample_forward<T>(Stream, int64_t, const kernels::UpsampleArgs&,  \
                                           const T*, T*);                                  \
  template void launch_upsample_backward<T>(Stream, int64_t, const kernels::UpsampleArgs&, \
                                            const T*, T*);
CREMA_INSTANTIATE_UPSAMPLE(float)
CREMA_INSTANTIATE_UPSAMPLE(double)

}  // namespace crema::cuda
