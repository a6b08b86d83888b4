#include "cuda_kernels/deform_conv.h"
#include "cuda_kernels/im2col.h"
#include "cuda_kernels/launch.cuh"

namespace crema::cuda {

template <class T>
void launch_deform_conv_im2col(Stream s, int64_t n, const kernels::DeformConvArgs& a, const T* x,
                               const T* offset, const T* mask, T* col) {
  launch(s, n, "deform_conv_im2col",
         [=] __device__(int64_t i) { kernels::deform_conv_im2col(i, a, x, offset, mask, col); });
}

template <class T>
void launch_deform_conv_input_backward(Stream s, int64_t n, const kernels::DeformConvArgs& a,
                                       const T* offset, const T* mask, const T* dcol, T* dx) {
  launch(s, n, "deform_conv_input_backward", [=] __device__(int64_t i) {
    kernels::deform_conv_input_backward(i, a, offset, mask, dcol, dx);
  });
}

template <class T>
void launch_deform_conv_offset_backward(Stream s, int64_t n, const kernels::DeformConvArgs& a,
                                        const T* x, const T* offset, const T* mask, const T* dcol,
                                        T* doffset, T* dmask) {
  launch(s, n, "deform_conv_offset_backward", [=] __device__(int64_t i) {
    kernels::deform_conv_offset_backward(i, a, x, offset, mask, dcol, doffset, dmask);
  });
}

template <class T>
void launch_deform_conv_swap_axes(Stream s, int64_t n, int64_t d0, int64_t d1, int64_t inner,
                                  const T* src, T* dst) {
  launch(s, n, "deform_conv_swap_axes",
         [=] __device__(int64_t i) { kernels::swap_leading_axes(i, d0, d1, inner, src, dst); });
}

#define CREMA_INSTANTIATE_DEFORM_CONV(T)                                                        \
  template void launch_deform_conv_im2col<T>(Stream, int64_t, const kernels::DeformConvArgs&,   \
                                             const T*, const T*, const T*, T*);                 \
  template void launch_deform_conv_input_backward<T>(                                           \
      Stream, int64_t, const kernels::DeformConvArgs&, const T*, const T*, const T*, T*);       \
  template void launch_deform_conv_offset_backward<T>(Stream, int64_t,                          \
                                                      const kernels::DeformConvArgs&, const T*, \
                                                      const T*, const T*, const T*, T*, T*);    \
  template void launch_deform_conv_swap_axes<T>(Stream, int64_t, int64_t, int64_t, int64_t,     \
                                                const T*, T*);
CREMA_INSTANTIATE_DEFORM_CONV(float)
CREMA_INSTANTIATE_DEFORM_CONV(double)

}  // namespace crema::cuda
