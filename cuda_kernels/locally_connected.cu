#include "cuda_kernels/launch.cuh"
#include "cuda_kernels/locally_connected.h"

namespace crema::cuda {

template <class T>
void launch_locally_connected_forward(Stream s, int64_t n, const kernels::LocallyConnectedArgs& a,
                                      const T* x, const T* weight, const T* bias, T* y) {
  launch(s, n, "locally_connected_forward", [=] __device__(int64_t i) {
    kernels::locally_connected_forward(i, a, x, weight, bias, y);
  });
}

template <class T>
void launch_locally_connected_backward_input(Stream s, int64_t n,
                                             const kernels::LocallyConnectedArgs& a, const T* dy,
                                             const T* weight, T* dx) {
  launch(s, n, "locally_connected_backward_input", [=] __device__(int64_t i) {
    kernels::locally_connected_backward_input(i, a, dy, weight, dx);
  });
}

template <class T>
void launch_locally_connected_backward_weight(Stream s, int64_t n,
                                              const kernels::LocallyConnectedArgs& a, const T* x,
                                              const T* dy, T* dweight) {
  launch(s, n, "locally_connected_backward_weight", [=] __device__(int64_t i) {
    kernels::locally_connected_backward_weight(i, a, x, dy, dweight);
  });
}

template <class T>
void launch_locally_connected_backward_bias(Stream s, int64_t n,
                                            const kernels::LocallyConnectedArgs& a, const T* dy,
                                            T* dbias) {
  launch(s, n, "locally_connected_backward_bias",
         [=] __device__(int64_t i) { kernels::locally_connected_backward_bias(i, a, dy, dbias); });
}

#define CREMA_INSTANTIATE_LOCALLY_CONNECTED(T)                                                  \
  template void launch_locally_connected_forward<T>(                                            \
      Stream, int64_t, const kernels::LocallyConnectedArgs&, const T*, const T*, const T*, T*); \
  template void launch_locally_connected_backward_input<T>(                                     \
      Stream, int64_t, const kernels::LocallyConnectedArgs&, const T*, const T*, T*);           \
  template void launch_locally_connected_backward_weight<T>(                                    \
      Stream, int64_t, const kernels::LocallyConnectedArgs&, const T*, const T*, T*);           \
  template void launch_locally_connected_backward_bias<T>(                                      \
      Stream, int64_t, const kernels::LocallyConnectedArgs&, const T*, T*);
CREMA_INSTANTIATE_LOCALLY_CONNECTED(float)
CREMA_INSTANTIATE_LOCALLY_CONNECTED(double)

}  // namespace crema::cuda
