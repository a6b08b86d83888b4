#include "cuda_kernels/launch.cuh"
#include "cuda_kernels/lrn.h"

namespace crema::cuda {

template <class T>
void launch_lrn_across_forward(Stream s, int64_t n, const kernels::LrnArgs<T>& a, const T* x,
                               T* scale, T* y) {
  launch(s, n, "lrn_across_forward",
         [=] __device__(int64_t i) { kernels::lrn_across_forward(i, a, x, scale, y); });
}

template <class T>
void launch_lrn_across_backward(Stream s, int64_t n, const kernels::LrnArgs<T>& a, const T* x,
                                const T* y, const T* scale, const T* dy, T* dx) {
  launch(s, n, "lrn_across_backward",
         [=] __device__(int64_t i) { kernels::lrn_across_backward(i, a, x, y, scale, dy, dx); });
}

template <class T>
void launch_lrn_within_forward(Stream s, int64_t n, const kernels::LrnArgs<T>& a, const T* x,
                               T* scale, T* y) {
  launch(s, n, "lrn_within_forward",
         [=] __device__(int64_t i) { kernels::lrn_within_forward(i, a, x, scale, y); });
}

template <class T>
void launch_lrn_within_backward(Stream s, int64_t n, const kernels::LrnArgs<T>& a, const T* x,
                                const T* y, const T* scale, const T* dy, T* dx) {
  launch(s, n, "lrn_within_backward",
         [=] __device__(int64_t i) { kernels::lrn_within_backward(i, a, x, y, scale, dy, dx); });
}

#define CREMA_INSTANTIATE_LRN(T)                                                           \
  template void launch_lrn_across_forward<T>(Stream, int64_t, const kernels::LrnArgs<T>&,  \
                                             const T*, T*, T*);                            \
  template void launch_lrn_across_backward<T>(Stream, int64_t, const kernels::LrnArgs<T>&, \
                                              const T*, const T*, const T*, const T*, T*); \
  template void launch_lrn_within_forward<T>(Stream, int64_t, const kernels::LrnArgs<T>&,  \
                                             const T*, T*, T*);                            \
  template void launch_lrn_within_backward<T>(Stream, int64_t, const kernels::LrnArgs<T>&, \
                                              const T*, const T*, const T*, const T*, T*);
CREMA_INSTANTIATE_LRN(float)
CREMA_INSTANTIATE_LRN(double)

}  // namespace crema::cuda
