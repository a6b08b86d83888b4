#include "cuda_kernels/launch.cuh"
#include "cuda_kernels/prelu.h"

namespace crema::cuda {

template <class T>
void launch_prelu_forward(Stream s, int64_t n, const kernels::PReluArgs& a, const T* x,
                          const T* slope, T* y) {
  launch(s, n, "prelu_forward",
         [=] __device__(int64_t i) { kernels::prelu_forward(i, a, x, slope, y); });
}

template <class T>
void launch_prelu_backward(Stream s, int64_t n, const kernels::PReluArgs& a, const T* x,
                           const T* slope, const T* dy, T* dx) {
  launch(s, n, "prelu_backward",
         [=] __device__(int64_t i) { kernels::prelu_backward(i, a, x, slope, dy, dx); });
}

template <class T>
void launch_prelu_slope_backward(Stream s, int64_t n, const kernels::PReluArgs& a, const T* x,
                                 const T* dy, T* partial) {
  launch(s, n, "prelu_slope_backward",
         [=] __device__(int64_t i) { kernels::prelu_slope_backward(i, a, x, dy, partial); });
}

#define CREMA_INSTANTIATE_PRELU(T)                                                             \
  template void launch_prelu_forward<T>(Stream, int64_t, const kernels::PReluArgs&, const T*,  \
                                        const T*, T*);                                         \
  template void launch_prelu_backward<T>(Stream, int64_t, const kernels::PReluArgs&, const T*, \
                                         const T*, const T*, T*);                              \
  template void launch_prelu_slope_backward<T>(Stream, int64_t, const kernels::PReluArgs&,     \
                                               const T*, const T*, T*);
CREMA_INSTANTIATE_PRELU(float)
CREMA_INSTANTIATE_PRELU(double)

}  // namespace crema::cuda
