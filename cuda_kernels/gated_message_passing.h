/// GBD-Net gated message passing kernel bodies: the gated update of one hop and the residual mix.
#pragma once

#include <cmath>
#include <cstdint>

#include "core/hd.h"
#include "cuda_kernels/launch.h"

namespace crema::kernels {

template <class T>
struct GatedMessagePassingArgs {
  T residual_coeff;  // out = h0 + residual_coeff * ReLU(fusion conv)
};

// Sigmoid as Crema's Sigmoid layer computes it (tanh form: no overflow for large |x|).
template <class T>
CREMA_HD inline T gmp_sigmoid(T x) {
  return T(0.5) * std::tanh(T(0.5) * x) + T(0.5);
}

// Work item i: one element of the receiving region's (N, M, H, W) feature; all arrays share that
// layout. Reads the pre-activations self[i] = conv(h0_recv), gate[i] = conv_g(h0_send) and
// msg[i] = conv_m(h_send); writes h[i] only. GATHER.
// GBD-Net eq. (paper form, sigma = ReLU as in the released nets):
//   h_recv = ReLU(self) + sigmoid(gate) * ReLU(msg).
template <class T>
CREMA_HD inline void gated_message_passing_update_forward(int64_t i, const T* self, const T* gate,
                                                          const T* msg, T* h) {
  const T a = self[i], m = msg[i];
  h[i] = (a > T(0) ? a : T(0)) + gmp_sigmoid(gate[i]) * (m > T(0) ? m : T(0));
}

// Work item i: one element, as in the forward. Reads the three pre-activations and dh[i];
// writes d_self[i], d_gate[i], d_msg[i] (=) only. GATHER. ReLU'(0) = 0 as Caffe's ReLU.
//   d_self = dh [self > 0];  d_gate = dh ReLU(msg) s (1 - s);  d_msg = dh s [msg > 0],
// with s = sigmoid(gate).
template <class T>
CREMA_HD inline void gated_message_passing_update_backward(int64_t i, const T* self, const T* gate,
                                                           const T* msg, const T* dh, T* d_self,
                                                           T* d_gate, T* d_msg) {
  const T g = dh[i], m = msg[i];
  const T s = gmp_sigmoid(gate[i]);
  d_self[i] = self[i] > T(0) ? g : T(0);
  d_gate[i] = m > T(0) ? g * m * s * (T(1) - s) : T(0);
  d_msg[i] = m > T(0) ? g * s : T(0);
}

// Work item i: one element of a region's (N, C, H, W) output. Reads h0[i] and the fusion conv's
// pre-activation f[i]; writes y[i] only. GATHER.
// GBD-Net residual mix (steps 4-5): y = h0 + coeff * ReLU(f).
template <class T>
CREMA_HD inline void gated_message_passing_mix_forward(int64_t i,
                                                       const GatedMessagePassingArgs<T>& a,
                                                       const T* h0, const T* f, T* y) {
  const T v = f[i];
  y[i] = h0[i] + a.residual_coeff * (v > T(0) ? v : T(0));
}

// Work item i: one element, as in the forward. Reads f[i] and dy[i]; writes dh0[i] = dy and
// df[i] = coeff * dy [f > 0] (=) only. GATHER.
template <class T>
CREMA_HD inline void gated_message_passing_mix_backward(int64_t i,
                                                        const GatedMessagePassingArgs<T>& a,
                                                        const T* f, const T* dy, T* dh0, T* df) {
  const T g = dy[i];
  dh0[i] = g;
  df[i] = f[i] > T(0) ? a.residual_coeff * g : T(0);
}

}  // namespace crema::kernels

namespace crema::cuda {

/// Launchers of the bodies above (cuda_kernels/gated_message_passing.cu; CUDA builds only).
template <class T>
void launch_gated_message_passing_update_forward(Stream s, int64_t n, const T* self, const T* gate,
                                                 const T* msg, T* h);
template <class T>
void launch_gated_message_passing_update_backward(Stream s, int64_t n, const T* self, const T* gate,
                                                  const T* msg, const T* dh, T* d_self, T* d_gate,
                                                  T* d_msg);
template <class T>
void launch_gated_message_passing_mix_forward(Stream s, int64_t n,
                                              const kernels::GatedMessagePassingArgs<T>& a,
                                              const T* h0, const T* f, T* y);
template <class T>
void launch_gated_message_passing_mix_backward(Stream s, int64_t n,
                                               const kernels::GatedMessagePassingArgs<T>& a,
                                               const T* f, const T* dy, T* dh0, T* df);

}  // namespace crema::cuda
