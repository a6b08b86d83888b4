#include "cuda_kernels/launch.cuh"
#include "cuda_kernels/spmc.h"

namespace crema::cuda {

template <class T>
void launch_spmc_forward(Stream s, int64_t n, const kernels::SpmcArgs& a, const T* image,
                         const T* flow, T* y) {
  launch(s, n, "spmc_forward",
         [=] __device__(int64_t i) { kernels::spmc_forward(i, a, image, flow, y); });
}

template <class T>
void launch_spmc_backward_image(Stream s, int64_t n, const kernels::SpmcArgs& a, const T* flow,
                                const T* dy, T* dimage) {
  launch(s, n, "spmc_backward_image",
         [=] __device__(int64_t i) { kernels::spmc_backward_image(i, a, flow, dy, dimage); });
}

template <class T>
void launch_spmc_backward_flow(Stream s, int64_t n, const kernels::SpmcArgs& a, const T* image,
                               const T* flow, const T* dy, T* dflow) {
  launch(s, n, "spmc_backward_flow",
         [=] __device__(int64_t i) { kernels::spmc_backward_flow(i, a, image, flow, dy, dflow); });
}

#define CREMA_INSTANTIATE_SPMC(T)                                                                  \
  template void launch_spmc_forward<T>(Stream, int64_t, const kernels::SpmcArgs&, const T*,        \
                                       const T*, T*);                                              \
  template void launch_spmc_backward_image<T>(Stream, int64_t, const kernels::SpmcArgs&, const T*, \
                                              const T*, T*);                                       \
  template void launch_spmc_backward_flow<T>(Stream, int64_t, const kernels::SpmcArgs&, const T*,  \
                                             const T*, const T*, T*);
CREMA_INSTANTIATE_SPMC(float)
CREMA_INSTANTIATE_SPMC(double)

}  // namespace crema::cuda
