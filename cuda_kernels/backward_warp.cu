#include "cuda_kernels/backward_warp.h"
#include "cuda_kernels/launch.cuh"

namespace crema::cuda {

template <class T>
void launch_backward_warp_taps(Stream s, int64_t n, const kernels::BackwardWarpArgs& a,
                               const T* flow, kernels::WarpTap<T>* taps) {
  launch(s, n, "backward_warp_taps",
         [=] __device__(int64_t i) { kernels::backward_warp_taps(i, a, flow, taps); });
}

template <class T>
void launch_backward_warp_forward(Stream s, int64_t n, const kernels::BackwardWarpArgs& a,
                                  const kernels::WarpTap<T>* taps, const T* x, T* y) {
  launch(s, n, "backward_warp_forward",
         [=] __device__(int64_t i) { kernels::backward_warp_forward(i, a, taps, x, y); });
}

template <class T>
void launch_backward_warp_backward_flow(Stream s, int64_t n, const kernels::BackwardWarpArgs& a,
                                        const kernels::WarpTap<T>* taps, const T* x, const T* dy,
                                        T* dflow) {
  launch(s, n, "backward_warp_backward_flow", [=] __device__(int64_t i) {
    kernels::backward_warp_backward_flow(i, a, taps, x, dy, dflow);
  });
}

template <class T>
void launch_backward_warp_backward_input(Stream s, int64_t n, const kernels::BackwardWarpArgs& a,
                                         const kernels::WarpTap<T>* taps, const T* dy, T* dx) {
  launch(s, n, "backward_warp_backward_input",
         [=] __device__(int64_t i) { kernels::backward_warp_backward_input(i, a, taps, dy, dx); });
}

#define CREMA_INSTANTIATE_BACKWARD_WARP(T)                                                         \
  template void launch_backward_warp_taps<T>(Stream, int64_t, const kernels::BackwardWarpArgs&,    \
                                             const T*, kernels::WarpTap<T>*);                      \
  template void launch_backward_warp_forward<T>(Stream, int64_t, const kernels::BackwardWarpArgs&, \
                                                const kernels::WarpTap<T>*, const T*, T*);         \
  template void launch_backward_warp_backward_flow<T>(                                             \
      Stream, int64_t, const kernels::BackwardWarpArgs&, const kernels::WarpTap<T>*, const T*,     \
      const T*, T*);                                                                               \
  template void launch_backward_warp_backward_input<T>(Stream, int64_t,                            \
                                                       const kernels::BackwardWarpArgs&,           \
                                                       const kernels::WarpTap<T>*, const T*, T*);
CREMA_INSTANTIATE_BACKWARD_WARP(float)
CREMA_INSTANTIATE_BACKWARD_WARP(double)

}  // namespace crema::cuda
