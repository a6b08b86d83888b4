#include "cuda_kernels/launch.cuh"
#include "cuda_kernels/roi_align.h"

namespace crema::cuda {

template <class T>
void launch_roi_align_geometry(Stream s, int64_t n, const kernels::RoiAlignArgs<T>& a,
                               const T* rois, kernels::RoiAlignBox<T>* boxes) {
  launch(s, n, "roi_align_geometry",
         [=] __device__(int64_t i) { kernels::roi_align_geometry(i, a, rois, boxes); });
}

template <class T>
void launch_roi_align_forward(Stream s, int64_t n, const kernels::RoiAlignArgs<T>& a,
                              const kernels::RoiAlignBox<T>* boxes, const T* x, T* y) {
  launch(s, n, "roi_align_forward",
         [=] __device__(int64_t i) { kernels::roi_align_forward(i, a, boxes, x, y); });
}

template <class T>
void launch_roi_align_backward(Stream s, int64_t n, const kernels::RoiAlignArgs<T>& a,
                               const kernels::RoiAlignBox<T>* boxes, const T* dy, T* dx) {
  launch(s, n, "roi_align_backward",
         [=] __device__(int64_t i) { kernels::roi_align_backward(i, a, boxes, dy, dx); });
}

#define CREMA_INSTANTIATE_ROI_ALIGN(T)                                                         \
  template void launch_roi_align_geometry<T>(Stream, int64_t, const kernels::RoiAlignArgs<T>&, \
                                             const T*, kernels::RoiAlignBox<T>*);              \
  template void launch_roi_align_forward<T>(Stream, int64_t, const kernels::RoiAlignArgs<T>&,  \
                                            const kernels::RoiAlignBox<T>*, const T*, T*);     \
  template void launch_roi_align_backward<T>(Stream, int64_t, const kernels::RoiAlignArgs<T>&, \
                                             const kernels::RoiAlignBox<T>*, const T*, T*);
CREMA_INSTANTIATE_ROI_ALIGN(float)
CREMA_INSTANTIATE_ROI_ALIGN(double)

}  // namespace crema::cuda
