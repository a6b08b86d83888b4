/// The one __global__ loop of Crema's hand-written kernels (DESIGN §2): an int64 grid-stride
/// loop that calls a kernel body per work item. Included only by cuda_kernels/*.cu.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "cuda_kernels/launch.h"

namespace crema::cuda {

inline constexpr int kThreadsPerBlock = 256;
// Enough blocks to fill any current GPU; the grid-stride loop covers the rest.
inline constexpr int64_t kMaxBlocks = 65536;

template <class Body>
__global__ void grid_stride_kernel(int64_t n, Body body) {
  const int64_t step = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) {
    body(i);
  }
}

/// Runs body(i) for i in [0, n) on `stream` and checks the launch.
template <class Body>
void launch(Stream stream, int64_t n, const char* name, Body body) {
  if (n <= 0) return;
  int64_t blocks = (n + kThreadsPerBlock - 1) / kThreadsPerBlock;
  if (blocks > kMaxBlocks) blocks = kMaxBlocks;
  grid_stride_kernel<<<static_cast<unsigned>(blocks), kThreadsPerBlock, 0, stream>>>(n, body);
  check_launch(name);
}

}  // namespace crema::cuda
