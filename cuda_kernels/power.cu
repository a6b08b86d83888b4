#include "cuda_kernels/launch.cuh"
#include "cuda_kernels/power.h"

namespace crema::cuda {

template <class T>
void launch_power_forward(Stream s, int64_t n, const kernels::PowerArgs<T>& a, const T* x, T* y) {
  launch(s, n, "power_forward", [=] __device__(int64_t i) { kernels::power_forward(i, a, x, y); });
}

template <class T>
void launch_power_backward(Stream s, int64_t n, const kernels::PowerArgs<T>& a, const T* x,
                           const T* dy, T* dx) {
  launch(s, n, "power_backward",
         [=] __device__(int64_t i) { kernels::power_backward(i, a, x, dy, dx); });
}

#define CREMA_INSTANTIATE_POWER(T)                                                                \
  template void launch_power_forward<T>(Stream, int64_t, const kernels::PowerArgs<T>&, const T*,  \
                                        T*);                                                      \
  template void launch_power_backward<T>(Stream, int64_t, const kernels::PowerArgs<T>&, const T*, \
                                         const T*, T*);
CREMA_INSTANTIATE_POWER(float)
CREMA_INSTANTIATE_POWER(double)

}  // namespace crema::cuda
