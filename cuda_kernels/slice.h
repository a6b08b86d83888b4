/// Kernel bodies of Slice: copies between the bottom and one top along the slice axis.
#pragma once

#include <cstdint>

#include "core/hd.h"
#include "cuda_kernels/launch.h"

namespace crema::kernels {

/// One top of a Slice, viewed as (outer, top_axis, inner) inside a bottom viewed as
/// (outer, bottom_axis, inner); the top starts at `offset` along the axis.
struct SliceArgs {
  int64_t outer = 0;
  int64_t bottom_axis = 0;
  int64_t top_axis = 0;
  int64_t offset = 0;
  int64_t inner = 0;
};

/// Index in the bottom of element i of the top.
CREMA_HD inline int64_t slice_bottom_index(int64_t i, const SliceArgs& a) {
  const int64_t block = a.top_axis * a.inner;
  const int64_t o = i / block, r = i % block;
  return (o * a.bottom_axis + a.offset) * a.inner + r;
}

/// y[i] = x[its bottom element]. Work item i in [0, outer * top_axis * inner): o = i / (top_axis
/// * inner), r = i % (top_axis * inner). Writes y[i] only: GATHER.
template <class T>
CREMA_HD inline void slice_forward(int64_t i, const SliceArgs& a, const T* x, T* y) {
  y[i] = x[slice_bottom_index(i, a)];
}

/// dx[bottom element of i] = dy[i]. Work item i as in slice_forward; the map from i to the
/// bottom element is one-to-one, so no two items write the same slot: GATHER.
template <class T>
CREMA_HD inline void slice_backward(int64_t i, const SliceArgs& a, const T* dy, T* dx) {
  dx[slice_bottom_index(i, a)] = dy[i];
}

}  // namespace crema::kernels

namespace crema::cuda {

// CUDA launchers of the bodies above (cuda_kernels/slice.cu); CUDA builds only.
template <class T>
void launch_slice_forward(Stream s, int64_t n, const kernels::SliceArgs& a, const T* x, T* y);
template <class T>
void launch_slice_backward(Stream s, int64_t n, const kernels::SliceArgs& a, const T* dy, T* dx);

}  // namespace crema::cuda
