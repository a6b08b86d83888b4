#include "cuda_kernels/launch.cuh"
#include "cuda_kernels/slice.h"

namespace crema::cuda {

template <class T>
void launch_slice_forward(Stream s, int64_t n, const kernels::SliceArgs& a, const T* x, T* y) {
  launch(s, n, "slice_forward", [=] __device__(int64_t i) { kernels::slice_forward(i, a, x, y); });
}

template <class T>
void launch_slice_backward(Stream s, int64_t n, const kernels::SliceArgs& a, const T* dy, T* dx) {
  launch(s, n, "slice_backward",
         [=] __device__(int64_t i) { kernels::slice_backward(i, a, dy, dx); });
}

#define CREMA_INSTANTIATE_SLICE(T)                                                             \
  template void launch_slice_forward<T>(Stream, int64_t, const kernels::SliceArgs&, const T*, \
                                        T*);                                                   \
  template void launch_slice_backward<T>(Stream, int64_t, const kernels::SliceArgs&, const T*, \
                                         T*);
CREMA_INSTANTIATE_SLICE(float)
CREMA_INSTANTIATE_SLICE(double)

}  // namespace crema::cuda
