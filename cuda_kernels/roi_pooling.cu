#include "cuda_kernels/launch.cuh"
#include "cuda_kernels/roi_pooling.h"

namespace crema::cuda {

template <class T>
void launch_roi_pool_geometry(Stream s, int64_t n, const kernels::RoiPoolArgs<T>& a, const T* rois,
                              kernels::RoiPoolBox<T>* boxes) {
  launch(s, n, "roi_pool_geometry",
         [=] __device__(int64_t i) { kernels::roi_pool_geometry(i, a, rois, boxes); });
}

template <class T>
void launch_roi_pool_forward(Stream s, int64_t n, const kernels::RoiPoolArgs<T>& a,
                             const kernels::RoiPoolBox<T>* boxes, const T* x, T* y,
                             int32_t* argmax) {
  launch(s, n, "roi_pool_forward",
         [=] __device__(int64_t i) { kernels::roi_pool_forward(i, a, boxes, x, y, argmax); });
}

template <class T>
void launch_roi_pool_backward(Stream s, int64_t n, const kernels::RoiPoolArgs<T>& a,
                              const kernels::RoiPoolBox<T>* boxes, const int32_t* argmax,
                              const T* dy, T* dx) {
  launch(s, n, "roi_pool_backward",
         [=] __device__(int64_t i) { kernels::roi_pool_backward(i, a, boxes, argmax, dy, dx); });
}

#define CREMA_INSTANTIATE_ROI_POOL(T)                                                              \
  template void launch_roi_pool_geometry<T>(Stream, int64_t, const kernels::RoiPoolArgs<T>&,       \
                                            const T*, kernels::RoiPoolBox<T>*);                    \
  template void launch_roi_pool_forward<T>(Stream, int64_t, const kernels::RoiPoolArgs<T>&,        \
                                           const kernels::RoiPoolBox<T>*, const T*, T*, int32_t*); \
  template void launch_roi_pool_backward<T>(Stream, int64_t, const kernels::RoiPoolArgs<T>&,       \
                                            const kernels::RoiPoolBox<T>*, const int32_t*,         \
                                            const T*, T*);
CREMA_INSTANTIATE_ROI_POOL(float)
CREMA_INSTANTIATE_ROI_POOL(double)

}  // namespace crema::cuda
