#include "core/context.h"

#include <cblas.h>

#include <thread>

#include "core/cuda_device.h"
#include "core/device_allocator.h"
#include "core/error.h"

#if CREMA_WITH_CUDA
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include "core/cuda_check.h"
#endif

namespace crema {

int hardware_threads() {
  const unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

Context Context::cpu(int threads, uint64_t seed) {
  Context ctx;
  ctx.threads = threads > 0 ? threads : hardware_threads();
  ctx.seed = seed;
  // BLAS calls are never nested inside parallel_for, so the two pools do not oversubscribe.
  openblas_set_num_threads(ctx.threads);
  return ctx;
}

Context Context::gpu(int device, int threads, uint64_t seed) {
  require_cuda_device(device);
  Context ctx = cpu(threads, seed);
  ctx.device = device;
  ctx.cuda = std::make_shared<CudaResources>(device);
  return ctx;
}

#if CREMA_WITH_CUDA
CudaResources::CudaResources(int device) : device_(device) {
  check_cuda(cudaSetDevice(device), "cudaSetDevice");
  check_cuda(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate");
  cublasHandle_t blas = nullptr;
  if (cublasCreate(&blas) != CUBLAS_STATUS_SUCCESS) {
    cudaStreamDestroy(stream_);
    throw DeviceError(str_cat("cublasCreate failed on device ", device));
  }
  cublasSetStream(blas, stream_);
  cublas_ = blas;
  cudnnHandle_t dnn = nullptr;
  const cudnnStatus_t st = cudnnCreate(&dnn);
  if (st != CUDNN_STATUS_SUCCESS) {
    cublasDestroy(blas);
    cudaStreamDestroy(stream_);
    throw DeviceError(
        str_cat("cudnnCreate failed on device ", device, ": ", cudnnGetErrorString(st)));
  }
  cudnnSetStream(dnn, stream_);
  cudnn_ = dnn;
}

CudaResources::~CudaResources() {
  cudaSetDevice(device_);
  if (stream_ != nullptr) cudaStreamSynchronize(stream_);
  if (workspace_ != nullptr) device_allocator(device_).free(workspace_);
  if (cudnn_ != nullptr) cudnnDestroy(static_cast<cudnnHandle_t>(cudnn_));
  if (cublas_ != nullptr) cublasDestroy(static_cast<cublasHandle_t>(cublas_));
  if (stream_ != nullptr) cudaStreamDestroy(stream_);
}

void* CudaResources::workspace(size_t bytes) {
  if (bytes > workspace_bytes_) {
    // Work already queued may still read the old buffer; the allocator reuses it only on this
    // stream, in order.
    device_allocator(device_).free(workspace_);
    workspace_ = device_allocator(device_).allocate(bytes, stream_);
    workspace_bytes_ = bytes;
  }
  return workspace_;
}
#else
CudaResources::CudaResources(int device) : device_(device) {
  throw DeviceError(str_cat("device ", device, ": this build of Crema has no CUDA support"));
}
CudaResources::~CudaResources() = default;
void* CudaResources::workspace(size_t) { return nullptr; }
#endif

}  // namespace crema
