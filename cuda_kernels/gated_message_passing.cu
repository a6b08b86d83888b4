#include "cuda_kernels/gated_message_passing.h"
#include "cuda_kernels/launch.cuh"

namespace crema::cuda {

template <class T>
void launch_gated_message_passing_update_forward(Stream s, int64_t n, const T* self, const T* gate,
                                                 const T* msg, T* h) {
  launch(s, n, "gated_message_passing_update_forward", [=] __device__(int64_t i) {
    kernels::gated_message_passing_update_forward(i, self, gate, msg, h);
  });
}

template <class T>
void launch_gated_message_passing_update_backward(Stream s, int64_t n, const T* self, const T* gate,
                                                  const T* msg, const T* dh, T* d_self, T* d_gate,
                                                  T* d_msg) {
  launch(s, n, "gated_message_passing_update_backward", [=] __device__(int64_t i) {
    kernels::gated_message_passing_update_backward(i, self, gate, msg, dh, d_self, d_gate, d_msg);
  });
}

template <class T>
void launch_gated_message_passing_mix_forward(Stream s, int64_t n,
                                              const kernels::GatedMessagePassingArgs<T>& a,
                                              const T* h0, const T* f, T* y) {
  launch(s, n, "gated_message_passing_mix_forward",
         [=] __device__(int64_t i) { kernels::gated_message_passing_mix_forward(i, a, h0, f, y); });
}

template <class T>
void launch_gated_message_passing_mix_backward(Stream s, int64_t n,
                                               const kernels::GatedMessagePassingArgs<T>& a,
                                               const T* f, const T* dy, T* dh0, T* df) {
  launch(s, n, "gated_message_passing_mix_backward", [=] __device__(int64_t i) {
    kernels::gated_message_passing_mix_backward(i, a, f, dy, dh0, df);
  });
}

#define CREMA_INSTANTIATE_GMP(T)                                                            \
  template void launch_gated_message_passing_update_forward<T>(Stream, int64_t, const T*,   \
                                                               const T*, const T*, T*);     \
  template void launch_gated_message_passing_update_backward<T>(                            \
      Stream, int64_t, const T*, const T*, const T*, const T*, T*, T*, T*);                 \
  template void launch_gated_message_passing_mix_forward<T>(                                \
      Stream, int64_t, const kernels::GatedMessagePassingArgs<T>&, const T*, const T*, T*); \
  template void launch_gated_message_passing_mix_backward<T>(                               \
      Stream, int64_t, const kernels::GatedMessagePassingArgs<T>&, const T*, const T*, T*, T*);
CREMA_INSTANTIATE_GMP(float)
CREMA_INSTANTIATE_GMP(double)

}  // namespace crema::cuda
