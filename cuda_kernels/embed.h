/// Kernel bodies of Embed: rows of a (input_dim x num_output) table picked by integer indices.
#pragma once

#include <cstdint>

#include "core/hd.h"
#include "cuda_kernels/class_label.h"
#include "cuda_kernels/launch.h"

namespace crema::kernels {

struct EmbedArgs {
  int64_t m = 0;  ///< indices (bottom count)
  int64_t n = 0;  ///< num_output
  int64_t k = 0;  ///< input_dim
  bool bias_term = false;
};

/// The table row of index value v, or a negative value when v is not an integer in [0, k).
template <class T>
CREMA_HD inline int64_t embed_row(T v, const EmbedArgs& a) {
  return decode_label(v, a.k, false, 0);
}

/// y[i] = W[index[p], d] + b[d]. Work item i in [0, m * n): p = i / n, d = i % n. Writes y[i]
/// only: GATHER. A bad index gives 0 here; the host validates indices before the launch.
template <class T>
CREMA_HD inline void embed_forward(int64_t i, const EmbedArgs& a, const T* index, const T* w,
                                   const T* b, T* y) {
  const int64_t p = i / a.n, d = i % a.n;
  const int64_t row = embed_row(index[p], a);
  if (row < 0) {
    y[i] = T(0);
    return;
  }
  y[i] = w[row * a.n + d] + (a.bias_term ? b[d] : T(0));
}

/// dW[index[p], d] += dy[p, d] for every p, in increasing p. Work item d in [0, n): one column
/// of the table, so no two items touch the same slot: GATHER (deterministic without atomics).
template <class T>
CREMA_HD inline void embed_backward_weight(int64_t d, const EmbedArgs& a, const T* index,
                                           const T* dy, T* dw) {
  for (int64_t p = 0; p < a.m; ++p) {
    const int64_t row = embed_row(index[p], a);
    if (row >= 0) dw[row * a.n + d] += dy[p * a.n + d];
  }
}

/// db[d] += sum over p of dy[p, d]. Work item d in [0, n). Writes db[d] only: GATHER.
template <class T>
CREMA_HD inline void embed_backward_bias(int64_t d, const EmbedArgs& a, const T* dy, T* db) {
  T sum = 0;
  for (int64_t p = 0; p < a.m; ++p) sum += dy[p * a.n + d];
  db[d] += sum;
}

}  // namespace crema::kernels

namespace crema::cuda {

/// Launchers of the bodies above (cuda_kernels/embed.cu; CUDA builds only).
template <class T>
void launch_embed_forward(Stream s, int64_t n, const kernels::EmbedArgs& a, const T* index,
                          const T* w, const T* b, T* y);
template <class T>
void launch_embed_backward_weight(Stream s, int64_t n, const kernels::EmbedArgs& a, const T* index,
                                  const T* dy, T* dw);
template <class T>
void launch_embed_backward_bias(Stream s, int64_t n, const kernels::EmbedArgs& a, const T* dy,
                                T* db);

}  // namespace crema::cuda
