#include "ops/gpu_copy.h"

#if CREMA_WITH_CUDA
#include <cuda_runtime.h>

#include "core/error.h"

namespace crema::cuda {

void copy_bytes(const Context& ctx, const void* src, void* dst, size_t bytes) {
  if (bytes == 0 || src == dst) return;
  const cudaError_t err =
      cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, ctx.cuda_stream());
  if (err != cudaSuccess) {
    cudaGetLastError();
    throw DeviceError(str_cat("device-to-device copy of ", bytes, " bytes failed: ",
                              cudaGetErrorName(err), " (", cudaGetErrorString(err), ")"));
  }
}

}  // namespace crema::cuda
#endif
