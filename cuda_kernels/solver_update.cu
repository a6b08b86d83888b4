#include "cuda_kernels/launch.cuh"
#include "cuda_kernels/solver_update.h"

namespace crema::cuda {

template <class T>
void launch_sgd_update(Stream s, int64_t n, const kernels::UpdateArgs& a, T* w, const T* g, T* h) {
  launch(s, n, "sgd_update", [=] __device__(int64_t i) { kernels::sgd_update(i, a, w, g, h); });
}

template <class T>
void launch_nesterov_update(Stream s, int64_t n, const kernels::UpdateArgs& a, T* w, const T* g,
                            T* h) {
  launch(s, n, "nesterov_update",
         [=] __device__(int64_t i) { kernels::nesterov_update(i, a, w, g, h); });
}

template <class T>
void launch_adagrad_update(Stream s, int64_t n, const kernels::UpdateArgs& a, T* w, const T* g,
                           T* h) {
  launch(s, n, "adagrad_update",
         [=] __device__(int64_t i) { kernels::adagrad_update(i, a, w, g, h); });
}

template <class T>
void launch_rmsprop_update(Stream s, int64_t n, const kernels::UpdateArgs& a, T* w, const T* g,
                           T* h) {
  launch(s, n, "rmsprop_update",
         [=] __device__(int64_t i) { kernels::rmsprop_update(i, a, w, g, h); });
}

template <class T>
void launch_adadelta_update(Stream s, int64_t n, const kernels::UpdateArgs& a, T* w, const T* g,
                            T* h, T* h2) {
  launch(s, n, "adadelta_update",
         [=] __device__(int64_t i) { kernels::adadelta_update(i, a, w, g, h, h2); });
}

template <class T>
void launch_adam_update(Stream s, int64_t n, const kernels::UpdateArgs& a, bool decoupled, T* w,
                        const T* g, T* m, T* v) {
  launch(s, n, "adam_update",
         [=] __device__(int64_t i) { kernels::adam_update(i, a, decoupled, w, g, m, v); });
}

#define CREMA_INSTANTIATE_SOLVER_UPDATE(T)                                                       \
  template void launch_sgd_update<T>(Stream, int64_t, const kernels::UpdateArgs&, T*, const T*, \
                                     T*);                                                       \
  template void launch_nesterov_update<T>(Stream, int64_t, const kernels::UpdateArgs&, T*,      \
                                          const T*, T*);                                        \
  template void launch_adagrad_update<T>(Stream, int64_t, const kernels::UpdateArgs&, T*,       \
                                         const T*, T*);                                         \
  template void launch_rmsprop_update<T>(Stream, int64_t, const kernels::UpdateArgs&, T*,       \
                                         const T*, T*);                                         \
  template void launch_adadelta_update<T>(Stream, int64_t, const kernels::UpdateArgs&, T*,      \
                                          const T*, T*, T*);                                    \
  template void launch_adam_update<T>(Stream, int64_t, const kernels::UpdateArgs&, bool, T*,    \
                                      const T*, T*, T*);
CREMA_INSTANTIATE_SOLVER_UPDATE(float)
CREMA_INSTANTIATE_SOLVER_UPDATE(double)

}  // namespace crema::cuda
