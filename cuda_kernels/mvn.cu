#include "cuda_kernels/launch.cuh"
#include "cuda_kernels/mvn.h"

namespace crema::cuda {

template <class T>
void launch_mvn_forward(Stream s, int64_t n, const kernels::MvnArgs<T>& a, const T* x, T* mean,
                        T* sigma, T* y) {
  launch(s, n, "mvn_forward",
         [=] __device__(int64_t r) { kernels::mvn_forward(r, a, x, mean, sigma, y); });
}

template <class T>
void launch_mvn_backward(Stream s, int64_t n, const kernels::MvnArgs<T>& a, const T* y,
                         const T* sigma, const T* dy, T* dx) {
  launch(s, n, "mvn_backward",
         [=] __device__(int64_t r) { kernels::mvn_backward(r, a, y, sigma, dy, dx); });
}

#define CREMA_INSTANTIATE_MVN(T)                                                                 \
  template void launch_mvn_forward<T>(Stream, int64_t, const kernels::MvnArgs<T>&, const T*, T*, \
                                      T*, T*);                                                   \
  template void launch_mvn_backward<T>(Stream, int64_t, const kernels::MvnArgs<T>&, const T*,    \
                                       const T*, const T*, T*);
CREMA_INSTANTIATE_MVN(float)
CREMA_INSTANTIATE_MVN(double)

}  // namespace crema::cuda
