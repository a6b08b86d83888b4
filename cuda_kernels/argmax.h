/// Kernel body of ArgMax: the top_k largest values (and their indices) along one axis.
#pragma once

#include <cstdint>

#include "core/hd.h"
#include "cuda_kernels/launch.h"

namespace crema::kernels {

/// The bottom viewed as (num / axis_dist, dim, axis_dist): `dim` values compete at each of the
/// `num` positions. Without an axis the whole of each item (dim = count(1)) competes.
struct ArgMaxArgs {
  int64_t num = 0;
  int64_t dim = 0;
  int64_t axis_dist = 1;  ///< stride of the competing axis (1 without an axis)
  int64_t top_k = 1;
  bool out_max_val = false;
  bool has_axis = false;
};

/// The order ArgMax ranks (value, index) pairs by: larger value first, ties to the larger index
/// (as Caffe's std::greater on pairs); NaN ranks above every number so the order stays strict.
template <class T>
CREMA_HD inline bool argmax_before(T va, int64_t ia, T vb, int64_t ib) {
  const bool na = va != va, nb = vb != vb;
  if (na != nb) return na;
  if (!na && va != vb) return va > vb;
  return ia > ib;
}

/// Writes the top_k entries of one position, best first. Work item i in [0, num):
/// the values are x[((i / axis_dist) * dim + j) * axis_dist + i % axis_dist], j in [0, dim).
/// The k-th best is found by a scan for the best pair ranked after the (k-1)-th (O(top_k * dim),
/// no scratch memory). Output layout as Caffe: with an axis, y[((i / axis_dist) * top_k + k) *
/// axis_dist + i % axis_dist] holds the value (out_max_val) or the index; without, y[i * top_k +
/// k] the index, or with out_max_val y[2 * i * top_k + k] the index and y[2 * i * top_k + top_k
/// + k] the value. Writes only this position's entries: GATHER.
template <class T>
CREMA_HD inline void argmax_forward(int64_t i, const ArgMaxArgs& a, const T* x, T* y) {
  const int64_t o = i / a.axis_dist, s = i % a.axis_dist;
  const T* base = x + o * a.dim * a.axis_dist + s;
  int64_t prev = -1;
  T prev_v = T(0);
  for (int64_t k = 0; k < a.top_k; ++k) {
    int64_t best = -1;
    T best_v = T(0);
    for (int64_t j = 0; j < a.dim; ++j) {
      const T v = base[j * a.axis_dist];
      if (prev >= 0 && !argmax_before(prev_v, prev, v, j)) continue;
      if (best < 0 || argmax_before(v, j, best_v, best)) best = j, best_v = v;
    }
    prev = best, prev_v = best_v;
    if (a.has_axis) {
      y[(o * a.top_k + k) * a.axis_dist + s] = a.out_max_val ? best_v : static_cast<T>(best);
    } else if (a.out_max_val) {
      y[2 * i * a.top_k + k] = static_cast<T>(best);
      y[2 * i * a.top_k + a.top_k + k] = best_v;
    } else {
      y[i * a.top_k + k] = static_cast<T>(best);
    }
  }
}

}  // namespace crema::kernels

namespace crema::cuda {

/// Launcher of the body above (cuda_kernels/argmax.cu; CUDA builds only).
template <class T>
void launch_argmax_forward(Stream s, int64_t n, const kernels::ArgMaxArgs& a, const T* x, T* y);

}  // namespace crema::cuda
