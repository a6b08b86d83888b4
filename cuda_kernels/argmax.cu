#include "cuda_kernels/argmax.h"
#include "cuda_kernels/launch.cuh"

namespace crema::cuda {

template <class T>
void launch_argmax_forward(Stream s, int64_t n, const kernels::ArgMaxArgs& a, const T* x, T* y) {
  launch(s, n, "argmax_forward",
         [=] __device__(int64_t i) { kernels::argmax_forward(i, a, x, y); });
}

#define CREMA_INSTANTIATE_ARGMAX(T) \
  template void launch_argmax_forward<T>(Stream, int64_t, const kernels::ArgMaxArgs&, const T*, T*);
CREMA_INSTANTIATE_ARGMAX(float)
CREMA_INSTANTIATE_ARGMAX(double)

}  // namespace crema::cuda
