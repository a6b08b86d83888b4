/// Kernel bodies of the solvers' per-element parameter updates (Caffe's update rules).
/// Each is GATHER: work item i reads and writes only element i of its arrays.
#pragma once

#include <cmath>
#include <cstdint>

#include "core/hd.h"
#include "cuda_kernels/launch.h"

namespace crema::kernels {

/// Hyper-parameters of one update step for one parameter blob.
struct UpdateArgs {
  double rate;      ///< global learning rate x lr_mult
  double momentum;  ///< SGD/Nesterov momentum, AdaDelta decay, Adam beta1
  double momentum2; ///< Adam beta2
  double rms_decay; ///< RMSProp decay
  double delta;     ///< epsilon
  double decay;     ///< weight_decay x decay_mult
  bool l1;          ///< L1 instead of L2 regularization (coupled solvers)
  double adam_correction;  ///< sqrt(1 - beta2^t) / (1 - beta1^t)
};

/// Adds the coupled weight-decay term to g.
template <class T>
CREMA_HD inline T regularized(const UpdateArgs& a, T w, T g) {
  if (a.decay == 0) return g;
  if (a.l1) return g + static_cast<T>(a.decay) * static_cast<T>((w > 0) - (w < 0));
  return g + static_cast<T>(a.decay) * w;
}

/// SGD with momentum: h = m h + rate g; w -= h.
template <class T>
CREMA_HD inline void sgd_update(int64_t i, const UpdateArgs& a, T* w, const T* g, T* h) {
  h[i] = static_cast<T>(a.momentum) * h[i] + static_cast<T>(a.rate) * regularized(a, w[i], g[i]);
  w[i] -= h[i];
}

/// Nesterov: h' = m h + rate g; w -= (1 + m) h' - m h.
template <class T>
CREMA_HD inline void nesterov_update(int64_t i, const UpdateArgs& a, T* w, const T* g, T* h) {
  const T m = static_cast<T>(a.momentum);
  const T prev = h[i];
  h[i] = m * prev + static_cast<T>(a.rate) * regularized(a, w[i], g[i]);
  w[i] -= (1 + m) * h[i] - m * prev;
}

/// AdaGrad: h += g^2; w -= rate g / (sqrt(h) + delta).
template <class T>
CREMA_HD inline void adagrad_update(int64_t i, const UpdateArgs& a, T* w, const T* g, T* h) {
  const T gi = regularized(a, w[i], g[i]);
  h[i] += gi * gi;
  w[i] -= static_cast<T>(a.rate) * gi / (std::sqrt(h[i]) + static_cast<T>(a.delta));
}

/// RMSProp: h = d h + (1 - d) g^2; w -= rate g / (sqrt(h) + delta).
template <class T>
CREMA_HD inline void rmsprop_update(int64_t i, const UpdateArgs& a, T* w, const T* g, T* h) {
  const T gi = regularized(a, w[i], g[i]);
  const T d = static_cast<T>(a.rms_decay);
  h[i] = d * h[i] + (1 - d) * gi * gi;
  w[i] -= static_cast<T>(a.rate) * gi / (std::sqrt(h[i]) + static_cast<T>(a.delta));
}

/// AdaDelta (Zeiler): h = m h + (1-m) g^2; u = g sqrt(h2 + delta) / sqrt(h + delta);
/// h2 = m h2 + (1-m) u^2; w -= rate u.
template <class T>
CREMA_HD inline void adadelta_update(int64_t i, const UpdateArgs& a, T* w, const T* g, T* h,
                                     T* h2) {
  const T gi = regularized(a, w[i], g[i]);
  const T m = static_cast<T>(a.momentum), eps = static_cast<T>(a.delta);
  h[i] = m * h[i] + (1 - m) * gi * gi;
  const T u = gi * std::sqrt(h2[i] + eps) / std::sqrt(h[i] + eps);
  h2[i] = m * h2[i] + (1 - m) * u * u;
  w[i] -= static_cast<T>(a.rate) * u;
}

/// Adam (coupled decay) and AdamW (decoupled: w -= rate decay w, outside the moments).
template <class T>
CREMA_HD inline void adam_update(int64_t i, const UpdateArgs& a, bool decoupled, T* w, const T* g,
                                 T* m, T* v) {
  const T gi = decoupled ? g[i] : regularized(a, w[i], g[i]);
  const T b1 = static_cast<T>(a.momentum), b2 = static_cast<T>(a.momentum2);
  m[i] = b1 * m[i] + (1 - b1) * gi;
  v[i] = b2 * v[i] + (1 - b2) * gi * gi;
  T step = static_cast<T>(a.rate) * static_cast<T>(a.adam_correction) * m[i] /
           (std::sqrt(v[i]) + static_cast<T>(a.delta));
  if (decoupled) step += static_cast<T>(a.rate) * static_cast<T>(a.decay) * w[i];
  w[i] -= step;
}

}  // namespace crema::kernels

namespace crema::cuda {

// CUDA launchers of the bodies above (cuda_kernels/solver_update.cu); CUDA builds only.
template <class T>
void launch_sgd_update(Stream s, int64_t n, const kernels::UpdateArgs& a, T* w, const T* g, T* h);
template <class T>
void launch_nesterov_update(Stream s, int64_t n, const kernels::UpdateArgs& a, T* w, const T* g,
                            T* h);
template <class T>
void launch_adagrad_update(Stream s, int64_t n, const kernels::UpdateArgs& a, T* w, const T* g,
                           T* h);
template <class T>
void launch_rmsprop_update(Stream s, int64_t n, const kernels::UpdateArgs& a, T* w, const T* g,
                           T* h);
template <class T>
void launch_adadelta_update(Stream s, int64_t n, const kernels::UpdateArgs& a, T* w, const T* g,
                            T* h, T* h2);
template <class T>
void launch_adam_update(Stream s, int64_t n, const kernels::UpdateArgs& a, bool decoupled, T* w,
                        const T* g, T* m, T* v);

}  // namespace crema::cuda
