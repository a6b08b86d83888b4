#include "cuda_kernels/deform_psroi_pooling.h"
#include "cuda_kernels/launch.cuh"

namespace crema::cuda {

template <class T>
void launch_deform_psroi_pooling_forward(Stream s, int64_t n,
                                         const kernels::DeformRoIPoolArgs<T>& a, const T* x,
                                         const T* rois, const T* offset, T* y) {
  launch(s, n, "deform_psroi_pooling_forward", [=] __device__(int64_t i) {
    kernels::deform_psroi_pooling_forward(i, a, x, rois, offset, y);
  });
}

template <class T>
void launch_deform_psroi_pooling_backward_data(Stream s, int64_t n,
                                               const kernels::DeformRoIPoolArgs<T>& a,
                                               const T* rois, const T* offset, const T* dy, T* dx) {
  launch(s, n, "deform_psroi_pooling_backward_data", [=] __device__(int64_t i) {
    kernels::deform_psroi_pooling_backward_data(i, a, rois, offset, dy, dx);
  });
}

template <class T>
void launch_deform_psroi_pooling_backward_offset(Stream s, int64_t n,
                                                 const kernels::DeformRoIPoolArgs<T>& a, const T* x,
                                                 const T* rois, const T* offset, const T* dy,
                                                 T* doffset) {
  launch(s, n, "deform_psroi_pooling_backward_offset", [=] __device__(int64_t i) {
    kernels::deform_psroi_pooling_backward_offset(i, a, x, rois, offset, dy, doffset);
  });
}

#define CREMA_INSTANTIATE_DEFORM_PSROI_POOLING(T)                                               \
  template void launch_deform_psroi_pooling_forward<T>(                                         \
      Stream, int64_t, const kernels::DeformRoIPoolArgs<T>&, const T*, const T*, const T*, T*); \
  template void launch_deform_psroi_pooling_backward_data<T>(                                   \
      Stream, int64_t, const kernels::DeformRoIPoolArgs<T>&, const T*, const T*, const T*, T*); \
  template void launch_deform_psroi_pooling_backward_offset<T>(                                 \
      Stream, int64_t, const kernels::DeformRoIPoolArgs<T>&, const T*, const T*, const T*,      \
      const T*, T*);
CREMA_INSTANTIATE_DEFORM_PSROI_POOLING(float)
CREMA_INSTANTIATE_DEFORM_PSROI_POOLING(double)

}  // namespace crema::cuda
