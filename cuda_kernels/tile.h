/// Kernel bodies of Tile: repeats the block from the tile axis on, `tiles` times.
#pragma once

#include <cstdint>

#include "core/hd.h"
#include "cuda_kernels/launch.h"

namespace crema::kernels {

/// Bottom viewed as (outer, inner) with inner = product of the axes from the tile axis on; the
/// top is (outer, tiles, inner).
struct TileArgs {
  int64_t outer = 0;
  int64_t inner = 0;
  int64_t tiles = 0;
};

/// y[i] = x[o, r]. Work item i in [0, outer * tiles * inner): o = i / (tiles * inner),
/// r = i % inner. Writes y[i] only: GATHER.
template <class T>
CREMA_HD inline void tile_forward(int64_t i, const TileArgs& a, const T* x, T* y) {
  const int64_t o = i / (a.tiles * a.inner), r = i % a.inner;
  y[i] = x[o * a.inner + r];
}

/// dx[j] = sum over t of dy[o, t, r], t in increasing order. Work item j in [0, outer * inner):
/// o = j / inner, r = j % inner. Writes dx[j] only: GATHER.
template <class T>
CREMA_HD inline void tile_backward(int64_t j, const TileArgs& a, const T* dy, T* dx) {
  const int64_t o = j / a.inner, r = j % a.inner;
  const T* p = dy + o * a.tiles * a.inner + r;
  T sum = 0;
  for (int64_t t = 0; t < a.tiles; ++t) sum += p[t * a.inner];
  dx[j] = sum;
}

}  // namespace crema::kernels

namespace crema::cuda {

/// Launchers of the bodies above (cuda_kernels/tile.cu; CUDA builds only).
template <class T>
void launch_tile_forward(Stream s, int64_t n, const kernels::TileArgs& a, const T* x, T* y);
template <class T>
void launch_tile_backward(Stream s, int64_t n, const kernels::TileArgs& a, const T* dy, T* dx);

}  // namespace crema::cuda
