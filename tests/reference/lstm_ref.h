/// Naive LSTM oracle (Caffe's LSTM semantics): scalar loops over time, streams and units, in
/// double.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

namespace crema::ref {

struct LstmResult {
  std::vector<double> h;       ///< T x N x H
  std::vector<double> h_last;  ///< N x H: h at the last step
  std::vector<double> c_last;  ///< N x H: c at the last step
};

/// Runs T steps for N streams. x is T x N x in, cont T x N, x_static N x in_static (or null),
/// h0 / c0 N x H (or null for zeros). Weights as Caffe stores them: w_xc (4H x in), b_c (4H),
/// w_static (4H x in_static), w_hc (4H x H); gate rows i, f, o, g. For each step:
///   z = W_xc x_t + b_c + W_xc_static x_static + W_hc (cont_t h_{t-1})
///   c_t = cont_t sigmoid(z_f) c_{t-1} + sigmoid(z_i) tanh(z_g),  h_t = sigmoid(z_o) tanh(c_t)
template <class T>
LstmResult lstm(const T* x, const T* cont, const T* x_static, const T* h0, const T* c0,
                int64_t steps, int64_t streams, int64_t in, int64_t in_static, int64_t hid,
                const T* w_xc, const T* b_c, const T* w_static, const T* w_hc) {
  auto sigmoid = [](double v) { return 1.0 / (1.0 + std::exp(-v)); };
  std::vector<double> h_prev(static_cast<size_t>(streams * hid), 0.0), c_prev = h_prev;
  for (int64_t k = 0; k < streams * hid; ++k) {
    if (h0 != nullptr) h_prev[k] = h0[k];
    if (c0 != nullptr) c_prev[k] = c0[k];
  }
  LstmResult out;
  out.h.assign(static_cast<size_t>(steps * streams * hid), 0.0);
  for (int64_t t = 0; t < steps; ++t) {
    std::vector<double> h_new(h_prev.size()), c_new(c_prev.size());
    for (int64_t n = 0; n < streams; ++n) {
      const double gate_cont = cont[t * streams + n];
      std::vector<double> z(static_cast<size_t>(4 * hid));
      for (int64_t r = 0; r < 4 * hid; ++r) {
        double acc = b_c[r];
        for (int64_t k = 0; k < in; ++k)
          acc += static_cast<double>(w_xc[r * in + k]) * x[(t * streams + n) * in + k];
        if (x_static != nullptr)
          for (int64_t k = 0; k < in_static; ++k)
            acc += static_cast<double>(w_static[r * in_static + k]) * x_static[n * in_static + k];
        for (int64_t k = 0; k < hid; ++k)
          acc += static_cast<double>(w_hc[r * hid + k]) * (gate_cont * h_prev[n * hid + k]);
        z[r] = acc;
      }
      for (int64_t j = 0; j < hid; ++j) {
        const double ig = sigmoid(z[j]);
        const double fg = sigmoid(z[hid + j]);
        const double og = sigmoid(z[2 * hid + j]);
        const double gg = std::tanh(z[3 * hid + j]);
        const double c = gate_cont * fg * c_prev[n * hid + j] + ig * gg;
        c_new[n * hid + j] = c;
        h_new[n * hid + j] = og * std::tanh(c);
        out.h[(t * streams + n) * hid + j] = h_new[n * hid + j];
      }
    }
    h_prev = h_new;
    c_prev = c_new;
  }
  out.h_last = h_prev;
  out.c_last = c_prev;
  return out;
}

}  // namespace crema::ref
