#include "cuda_kernels/accuracy.h"
#include "cuda_kernels/launch.cuh"

namespace crema::cuda {

template <class T>
void launch_accuracy_forward(Stream s, int64_t n, const kernels::AccuracyArgs& a, const T* x,
                             const T* label, T* hit, T* state) {
  launch(s, n, "accuracy_forward",
         [=] __device__(int64_t i) { kernels::accuracy_forward(i, a, x, label, hit, state); });
}

#define CREMA_INSTANTIATE_ACCURACY(T)                                                          \
  template void launch_accuracy_forward<T>(Stream, int64_t, const kernels::AccuracyArgs&,      \
                                           const T*, const T*, T*, T*);
CREMA_INSTANTIATE_ACCURACY(float)
CREMA_INSTANTIATE_ACCURACY(double)

}  // namespace crema::cuda
