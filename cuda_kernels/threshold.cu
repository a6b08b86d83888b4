#include "cuda_kernels/launch.cuh"
#include "cuda_kernels/threshold.h"

namespace crema::cuda {

template <class T>
void launch_threshold_forward(Stream s, int64_t n, T threshold, const T* x, T* y) {
  launch(s, n, "threshold_forward",
         [=] __device__(int64_t i) { kernels::threshold_forward(i, threshold, x, y); });
}

#define CREMA_INSTANTIATE_THRESHOLD(T) \
  template void launch_threshold_forward<T>(Stream, int64_t, T, const T*, T*);
CREMA_INSTANTIATE_THRESHOLD(float)
CREMA_INSTANTIATE_THRESHOLD(double)

}  // namespace crema::cuda
