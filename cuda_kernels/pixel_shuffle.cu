#include "cuda_kernels/launch.cuh"
#include "cuda_kernels/pixel_shuffle.h"

namespace crema::cuda {

template <class T>
void launch_pixel_shuffle_forward(Stream s, int64_t n, const kernels::PixelShuffleArgs& a,
                                  const T* x, T* y) {
  launch(s, n, "pixel_shuffle_forward",
         [=] __device__(int64_t i) { kernels::pixel_shuffle_forward(i, a, x, y); });
}

template <class T>
void launch_pixel_shuffle_backward(Stream s, int64_t n, const kernels::PixelShuffleArgs& a,
                                   const T* dy, T* dx) {
  launch(s, n, "pixel_shuffle_backward",
         [=] __device__(int64_t i) { kernels::pixel_shuffle_backward(i, a, dy, dx); });
}

template <class T>
void launch_pixel_shuffle_zero_forward(Stream s, int64_t n, const kernels::PixelShuffleArgs& a,
                                       const T* x, T* y) {
  launch(s, n, "pixel_shuffle_zero_forward",
         [=] __device__(int64_t i) { kernels::pixel_shuffle_zero_forward(i, a, x, y); });
}

template <class T>
void launch_pixel_shuffle_zero_backward(Stream s, int64_t n, const kernels::PixelShuffleArgs& a,
                                        const T* dy, T* dx) {
  launch(s, n, "pixel_shuffle_zero_backward",
         [=] __device__(int64_t i) { kernels::pixel_shuffle_zero_backward(i, a, dy, dx); });
}

#define CREMA_INSTANTIATE_PIXEL_SHUFFLE(T)                                                         \
  template void launch_pixel_shuffle_forward<T>(Stream, int64_t, const kernels::PixelShuffleArgs&, \
                                                const T*, T*);                                     \
  template void launch_pixel_shuffle_backward<T>(Stream, int64_t,                                  \
                                                 const kernels::PixelShuffleArgs&, const T*, T*);  \
  template void launch_pixel_shuffle_zero_forward<T>(                                              \
      Stream, int64_t, const kernels::PixelShuffleArgs&, const T*, T*);                            \
  template void launch_pixel_shuffle_zero_backward<T>(                                             \
      Stream, int64_t, const kernels::PixelShuffleArgs&, const T*, T*);
CREMA_INSTANTIATE_PIXEL_SHUFFLE(float)
CREMA_INSTANTIATE_PIXEL_SHUFFLE(double)

}  // namespace crema::cuda
