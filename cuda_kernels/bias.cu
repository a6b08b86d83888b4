#include "cuda_kernels/bias.h"
#include "cuda_kernels/launch.cuh"

namespace crema::cuda {

template <class T>
void launch_bias_forward_element(Stream s, int64_t n, const kernels::BroadcastArgs& a, const T* x,
                                 const T* b, T* y) {
  launch(s, n, "bias_forward_element",
         [=] __device__(int64_t e) { kernels::bias_forward_element(e, a, x, b, y); });
}

template <class T>
void launch_bias_param_backward(Stream s, int64_t n, const kernels::BroadcastArgs& a, const T* dy,
                                T* db, bool accumulate) {
  launch(s, n, "bias_param_backward",
         [=] __device__(int64_t i) { kernels::bias_param_backward(i, a, dy, db, accumulate); });
}

#define CREMA_INSTANTIATE_BIAS(T)                                                              \
  template void launch_bias_forward_element<T>(Stream, int64_t, const kernels::BroadcastArgs&, \
                                               const T*, const T*, T*);                        \
  template void launch_bias_param_backward<T>(Stream, int64_t, const kernels::BroadcastArgs&,  \
                                              const T*, T*, bool);
CREMA_INSTANTIATE_BIAS(float)
CREMA_INSTANTIATE_BIAS(double)

}  // namespace crema::cuda
