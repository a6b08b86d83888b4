#include "cuda_kernels/launch.cuh"
#include "cuda_kernels/scale.h"

namespace crema::cuda {

template <class T>
void launch_scale_forward_element(Stream s, int64_t n, const kernels::BroadcastArgs& a, const T* x,
                                  const T* sc, const T* b, T* y) {
  launch(s, n, "scale_forward_element",
         [=] __device__(int64_t e) { kernels::scale_forward_element(e, a, x, sc, b, y); });
}

template <class T>
void launch_scale_param_backward(Stream s, int64_t n, const kernels::BroadcastArgs& a, const T* dy,
                                 const T* x, T* ds, bool accumulate) {
  launch(s, n, "scale_param_backward",
         [=] __device__(int64_t i) { kernels::scale_param_backward(i, a, dy, x, ds, accumulate); });
}

#define CREMA_INSTANTIATE_SCALE(T)                                                              \
  template void launch_scale_forward_element<T>(Stream, int64_t, const kernels::BroadcastArgs&, \
                                                const T*, const T*, const T*, T*);              \
  template void launch_scale_param_backward<T>(Stream, int64_t, const kernels::BroadcastArgs&,  \
                                               const T*, const T*, T*, bool);
CREMA_INSTANTIATE_SCALE(float)
CREMA_INSTANTIATE_SCALE(double)

}  // namespace crema::cuda
