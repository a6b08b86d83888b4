#include "cuda_kernels/launch.cuh"
#include "cuda_kernels/pooling.h"

namespace crema::cuda {

template <class T>
void launch_pooling_max_forward(Stream s, int64_t n, const kernels::PoolingArgs& a, const T* x,
                                T* y, int32_t* mask, T* top_mask) {
  launch(s, n, "pooling_max_forward",
         [=] __device__(int64_t i) { kernels::pooling_max_forward(i, a, x, y, mask, top_mask); });
}

template <class T>
void launch_pooling_ave_forward(Stream s, int64_t n, const kernels::PoolingArgs& a, const T* x,
                                T* y) {
  launch(s, n, "pooling_ave_forward",
         [=] __device__(int64_t i) { kernels::pooling_ave_forward(i, a, x, y); });
}

template <class T>
void launch_pooling_max_backward(Stream s, int64_t n, const kernels::PoolingArgs& a, const T* dy,
                                 const int32_t* mask, T* dx) {
  launch(s, n, "pooling_max_backward",
         [=] __device__(int64_t i) { kernels::pooling_max_backward(i, a, dy, mask, dx); });
}

template <class T>
void launch_pooling_ave_backward(Stream s, int64_t n, const kernels::PoolingArgs& a, const T* dy,
                                 T* dx) {
  launch(s, n, "pooling_ave_backward",
         [=] __device__(int64_t i) { kernels::pooling_ave_backward(i, a, dy, dx); });
}

#define CREMA_INSTANTIATE_POOLING(T)                                                         \
  template void launch_pooling_max_forward<T>(Stream, int64_t, const kernels::PoolingArgs&,  \
                                              const T*, T*, int32_t*, T*);                   \
  template void launch_pooling_ave_forward<T>(Stream, int64_t, const kernels::PoolingArgs&,  \
                                              const T*, T*);                                 \
  template void launch_pooling_max_backward<T>(Stream, int64_t, const kernels::PoolingArgs&, \
                                               const T*, const int32_t*, T*);                \
  template void launch_pooling_ave_backward<T>(Stream, int64_t, const kernels::PoolingArgs&, \
                                               const T*, T*);
CREMA_INSTANTIATE_POOLING(float)
CREMA_INSTANTIATE_POOLING(double)

}  // namespace crema::cuda
