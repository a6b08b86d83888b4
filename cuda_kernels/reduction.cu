#include "cuda_kernels/launch.cuh"
#include "cuda_kernels/reduction.h"

namespace crema::cuda {

template <class T>
void launch_reduction_forward(Stream s, int64_t n, const kernels::ReductionArgs& a, const T* x,
                              T* y) {
  launch(s, n, "reduction_forward",
         [=] __device__(int64_t i) { kernels::reduction_forward(i, a, x, y); });
}

template <class T>
void launch_reduction_backward(Stream s, int64_t n, const kernels::ReductionArgs& a, const T* x,
                               const T* dy, T* dx) {
  launch(s, n, "reduction_backward",
         [=] __device__(int64_t j) { kernels::reduction_backward(j, a, x, dy, dx); });
}

#define CREMA_INSTANTIATE_REDUCTION(T)                                                       \
  template void launch_reduction_forward<T>(Stream, int64_t, const kernels::ReductionArgs&,  \
                                            const T*, T*);                                   \
  template void launch_reduction_backward<T>(Stream, int64_t, const kernels::ReductionArgs&, \
                                             const T*, const T*, T*);
CREMA_INSTANTIATE_REDUCTION(float)
CREMA_INSTANTIATE_REDUCTION(double)

}  // namespace crema::cuda
