/// LSTM kernel bodies (Caffe's LSTM / LSTMUnit): one time step of the gate nonlinearities and
/// the cell update, forward and backward through time.
#pragma once

#include <cmath>
#include <cstdint>

#include "core/hd.h"
#include "cuda_kernels/launch.h"

namespace crema::kernels {

// Note [LSTM gate layout]
// A step's gate row for stream n holds 4H values in Caffe's LSTMUnit order: blocks i | f | o | g
// of H each, at offsets 0, H, 2H, 3H. Before the step kernel runs, the row holds the
// pre-activations W_xc x_t + b_c + W_hc (cont_t h_{t-1}); the kernel adds the static term
// W_xc_static x_static when present and overwrites the row with the activations
// i, f, o = sigmoid, g = tanh, which backward reads. The cell update is
//   c_t = cont_t f_t c_{t-1} + i_t g_t,   h_t = o_t tanh(c_t).

/// Sizes shared by every step.
struct LstmArgs {
  int64_t hidden = 0;  ///< H
};

/// Pointers of one forward step t (N streams).
template <class T>
struct LstmForwardStep {
  T* gates = nullptr;               ///< N x 4H: pre-activations in, activations out
  const T* gates_static = nullptr;  ///< N x 4H static term, or null
  const T* cont = nullptr;          ///< N: cont_t
  const T* c_prev = nullptr;        ///< N x H: c_{t-1}
  T* c = nullptr;                   ///< N x H: c_t
  T* h = nullptr;                   ///< N x H: h_t
  const T* cont_next = nullptr;     ///< N: cont_{t+1}, or null at the last step
  T* h_conted_next = nullptr;       ///< N x H: cont_{t+1} h_t, or null at the last step
};

/// Pointers of one backward step t (N streams).
template <class T>
struct LstmBackwardStep {
  const T* gates = nullptr;      ///< N x 4H activations of step t
  const T* c = nullptr;          ///< N x H: c_t
  const T* c_prev = nullptr;     ///< N x H: c_{t-1}
  const T* cont = nullptr;       ///< N: cont_t
  const T* dh_top = nullptr;     ///< N x H: gradient of h_t from the top
  const T* dh_next = nullptr;    ///< N x H: gradient of h_t through step t+1, or null
  const T* cont_next = nullptr;  ///< N: cont_{t+1} gating dh_next, or null (use dh_next as is)
  T* dc = nullptr;               ///< N x H: gradient of c_t in, of c_{t-1} out
  T* dgates = nullptr;           ///< N x 4H: gradient of the pre-activations
};

template <class T>
CREMA_HD inline T lstm_sigmoid(T x) {
  // Same form as the Sigmoid layer: no overflow for large |x|.
  return T(0.5) * std::tanh(T(0.5) * x) + T(0.5);
}

// Work item i: one (stream n, unit j) pair, n = i / H, j = i % H; N*H items. Reads the 4 gate
// pre-activations of (n, j), c_{t-1}[i] and cont_t[n]; writes the 4 activations in place,
// c_t[i], h_t[i] and cont_{t+1}[n] h_t[i]. GATHER. See Note [LSTM gate layout].
template <class T>
CREMA_HD inline void lstm_forward_step(int64_t i, const LstmArgs& a, const LstmForwardStep<T>& s) {
  const int64_t hid = a.hidden;
  const int64_t n = i / hid, j = i - n * hid;
  T* g = s.gates + n * 4 * hid + j;
  T pre_i = g[0], pre_f = g[hid], pre_o = g[2 * hid], pre_g = g[3 * hid];
  if (s.gates_static != nullptr) {
    const T* st = s.gates_static + n * 4 * hid + j;
    pre_i += st[0];
    pre_f += st[hid];
    pre_o += st[2 * hid];
    pre_g += st[3 * hid];
  }
  const T gi = lstm_sigmoid(pre_i), gf = lstm_sigmoid(pre_f), go = lstm_sigmoid(pre_o);
  const T gg = std::tanh(pre_g);
  g[0] = gi;
  g[hid] = gf;
  g[2 * hid] = go;
  g[3 * hid] = gg;
  const T c = s.cont[n] * gf * s.c_prev[i] + gi * gg;
  const T h = go * std::tanh(c);
  s.c[i] = c;
  s.h[i] = h;
  if (s.h_conted_next != nullptr) s.h_conted_next[i] = s.cont_next[n] * h;
}

// Work item i: one (stream n, unit j) pair, n = i / H, j = i % H; N*H items. With
//   dh = dh_top + cont_{t+1} dh_next   (the gradient of h_t)
//   dc_t = dc + dh o tanh'(c_t)        (dc: the gradient of c_t through step t+1)
// writes the 4 pre-activation gradients of (n, j) and dc[i] = cont_t f_t dc_t, the gradient of
// c_{t-1}. cont gets no gradient. GATHER.
template <class T>
CREMA_HD inline void lstm_backward_step(int64_t i, const LstmArgs& a,
                                        const LstmBackwardStep<T>& s) {
  const int64_t hid = a.hidden;
  const int64_t n = i / hid, j = i - n * hid;
  const int64_t row = n * 4 * hid + j;
  const T gi = s.gates[row], gf = s.gates[row + hid], go = s.gates[row + 2 * hid];
  const T gg = s.gates[row + 3 * hid];
  T dh = s.dh_top[i];
  if (s.dh_next != nullptr) dh += (s.cont_next != nullptr ? s.cont_next[n] : T(1)) * s.dh_next[i];
  const T tc = std::tanh(s.c[i]);
  const T dc = s.dc[i] + dh * go * (T(1) - tc * tc);
  const T cont = s.cont[n];
  const T di = dc * gg, df = dc * cont * s.c_prev[i], d_o = dh * tc, dg = dc * gi;
  T* dgr = s.dgates + row;
  dgr[0] = di * gi * (T(1) - gi);
  dgr[hid] = df * gf * (T(1) - gf);
  dgr[2 * hid] = d_o * go * (T(1) - go);
  dgr[3 * hid] = dg * (T(1) - gg * gg);
  s.dc[i] = dc * cont * gf;
}

// Work item i: one element of an N x H array, n = i / H. Writes y[i] = cont[n] x[i] (the hidden
// state gated by the sequence indicator, or its gradient). GATHER.
template <class T>
CREMA_HD inline void lstm_cont_scale(int64_t i, const LstmArgs& a, const T* cont, const T* x,
                                     T* y) {
  y[i] = cont[i / a.hidden] * x[i];
}

}  // namespace crema::kernels

namespace crema::cuda {

/// Launchers of the bodies above (cuda_kernels/lstm.cu; CUDA builds only). n is N * H.
template <class T>
void launch_lstm_forward_step(Stream s, int64_t n, const kernels::LstmArgs& a,
                              const kernels::LstmForwardStep<T>& step);
template <class T>
void launch_lstm_backward_step(Stream s, int64_t n, const kernels::LstmArgs& a,
                               const kernels::LstmBackwardStep<T>& step);
template <class T>
void launch_lstm_cont_scale(Stream s, int64_t n, const kernels::LstmArgs& a, const T* cont,
                            const T* x, T* y);

}  // namespace crema::cuda
