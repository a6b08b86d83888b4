#include "cuda_kernels/launch.cuh"

#include "core/error.h"

namespace crema::cuda {

void check_launch(const char* kernel) {
  const cudaError_t err = cudaGetLastError();
  if (err != cudaSuccess) {
    throw DeviceError(str_cat("CUDA kernel '", kernel, "' failed to launch: ", cudaGetErrorName(err),
                              " (", cudaGetErrorString(err), ")"));
  }
}

}  // namespace crema::cuda
