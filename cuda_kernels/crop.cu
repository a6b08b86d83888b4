#include "cuda_kernels/crop.h"
#include "cuda_kernels/launch.cuh"

namespace crema::cuda {

template <class T>
void launch_crop_forward(Stream s, int64_t n, const kernels::CropArgs& a, const T* x, T* y) {
  launch(s, n, "crop_forward", [=] __device__(int64_t i) { kernels::crop_forward(i, a, x, y); });
}

template <class T>
void launch_crop_backward(Stream s, int64_t n, const kernels::CropArgs& a, const T* dy, T* dx) {
  launch(s, n, "crop_backward",
         [=] __device__(int64_t j) { kernels::crop_backward(j, a, dy, dx); });
}

#define CREMA_INSTANTIATE_CROP(T)                                                                \
  template void launch_crop_forward<T>(Stream, int64_t, const kernels::CropArgs&, const T*, T*); \
  template void launch_crop_backward<T>(Stream, int64_t, const kernels::CropArgs&, const T*, T*);
CREMA_INSTANTIATE_CROP(float)
CREMA_INSTANTIATE_CROP(double)

}  // namespace crema::cuda
