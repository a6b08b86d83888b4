/// check_cuda: turns a CUDA runtime error into a DeviceError naming the call. Include only under
/// CREMA_WITH_CUDA (it needs the CUDA runtime headers).
#pragma once

#include <cuda_runtime.h>

#include "core/error.h"

namespace crema {

/// Throws DeviceError("<call> failed: <name> (<description>)") unless err is cudaSuccess; clears
/// the runtime's sticky last error first, so later calls are not blamed for this one.
inline void check_cuda(cudaError_t err, const char* call) {
  if (err == cudaSuccess) return;
  cudaGetLastError();
  throw DeviceError(
      str_cat(call, " failed: ", cudaGetErrorName(err), " (", cudaGetErrorString(err), ")"));
}

}  // namespace crema
