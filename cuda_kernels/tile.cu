#include "cuda_kernels/launch.cuh"
#include "cuda_kernels/tile.h"

namespace crema::cuda {

template <class T>
void launch_tile_forward(Stream s, int64_t n, const kernels::TileArgs& a, const T* x, T* y) {
  launch(s, n, "tile_forward", [=] __device__(int64_t i) { kernels::tile_forward(i, a, x, y); });
}

template <class T>
void launch_tile_backward(Stream s, int64_t n, const kernels::TileArgs& a, const T* dy, T* dx) {
  launch(s, n, "tile_backward",
         [=] __device__(int64_t i) { kernels::tile_backward(i, a, dy, dx); });
}

#define CREMA_INSTANTIATE_TILE(T)                                                                \
  template void launch_tile_forward<T>(Stream, int64_t, const kernels::TileArgs&, const T*, T*); \
  template void launch_tile_backward<T>(Stream, int64_t, const kernels::TileArgs&, const T*, T*);
CREMA_INSTANTIATE_TILE(float)
CREMA_INSTANTIATE_TILE(double)

}  // namespace crema::cuda
