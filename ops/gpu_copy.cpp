#include "ops/gpu_copy.h"

#if CREMA_WITH_CUDA
#include <cuda_runtime.h>

#include "core/cuda_check.h"

namespace crema::cuda {

void copy_bytes(const Context& ctx, const void* src, void* dst, size_t bytes) {
  if (bytes == 0 || src == dst) return;
  check_cuda(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, ctx.cuda_stream()),
             "device-to-device cudaMemcpyAsync");
}

void copy_rows_bytes(const Context& ctx, int64_t rows, size_t row_bytes, const void* src,
                     size_t src_pitch, void* dst, size_t dst_pitch) {
  if (rows <= 0 || row_bytes == 0) return;
  check_cuda(cudaMemcpy2DAsync(dst, dst_pitch, src, src_pitch, row_bytes, static_cast<size_t>(rows),
                               cudaMemcpyDeviceToDevice, ctx.cuda_stream()),
             "device-to-device cudaMemcpy2DAsync");
}

void zero_bytes(const Context& ctx, void* dst, size_t bytes) {
  if (bytes == 0) return;
  check_cuda(cudaMemsetAsync(dst, 0, bytes, ctx.cuda_stream()), "cudaMemsetAsync");
}

}  // namespace crema::cuda
#endif
