#include "cuda_kernels/def_pooling.h"
#include "cuda_kernels/launch.cuh"

namespace crema::cuda {

template <class T>
void launch_def_pooling_forward(Stream s, int64_t n, const kernels::DefPoolingArgs& a, const T* x,
                                const T* penalty, T* y, int32_t* argmax, T* top_argmax) {
  launch(s, n, "def_pooling_forward", [=] __device__(int64_t i) {
    kernels::def_pooling_forward(i, a, x, penalty, y, argmax, top_argmax);
  });
}

template <class T>
void launch_def_pooling_backward_input(Stream s, int64_t n, const kernels::DefPoolingArgs& a,
                                       const T* dy, const int32_t* argmax, T* dx) {
  launch(s, n, "def_pooling_backward_input",
         [=] __device__(int64_t i) { kernels::def_pooling_backward_input(i, a, dy, argmax, dx); });
}

template <class T>
void launch_def_pooling_backward_penalty(Stream s, int64_t n, const kernels::DefPoolingArgs& a,
                                         int64_t num, const T* dy, const int32_t* argmax,
                                         T* dpenalty) {
  launch(s, n, "def_pooling_backward_penalty", [=] __device__(int64_t i) {
    kernels::def_pooling_backward_penalty(i, a, num, dy, argmax, dpenalty);
  });
}

#define CREMA_INSTANTIATE_DEF_POOLING(T)                                                       \
  template void launch_def_pooling_forward<T>(Stream, int64_t, const kernels::DefPoolingArgs&, \
                                              const T*, const T*, T*, int32_t*, T*);           \
  template void launch_def_pooling_backward_input<T>(                                          \
      Stream, int64_t, const kernels::DefPoolingArgs&, const T*, const int32_t*, T*);          \
  template void launch_def_pooling_backward_penalty<T>(                                        \
      Stream, int64_t, const kernels::DefPoolingArgs&, int64_t, const T*, const int32_t*, T*);
CREMA_INSTANTIATE_DEF_POOLING(float)
CREMA_INSTANTIATE_DEF_POOLING(double)

}  // namespace crema::cuda
