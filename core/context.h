/// Execution context passed to every layer call: device, stream, handles, threads and seed (no
/// global mode).
#pragma once

#include <cstdint>
#include <memory>

#include "cuda_kernels/launch.h"

namespace crema {

/// The CUDA resources of one GPU Context: its stream, cuBLAS and cuDNN handles and a scratch
/// workspace (cuDNN algorithms, im2col). Created by Context::gpu; CUDA builds only.
class CudaResources {
 public:
  explicit CudaResources(int device);
  ~CudaResources();
  CudaResources(const CudaResources&) = delete;
  CudaResources& operator=(const CudaResources&) = delete;

  int device() const { return device_; }
  cuda::Stream stream() const { return stream_; }
  void* cublas() const { return cublas_; }  ///< cublasHandle_t bound to stream()
  void* cudnn() const { return cudnn_; }    ///< cudnnHandle_t bound to stream()
  /// At least `bytes` of device scratch, valid until the next call (grows, never shrinks).
  void* workspace(size_t bytes);

 private:
  int device_;
  cuda::Stream stream_ = nullptr;
  void* cublas_ = nullptr;
  void* cudnn_ = nullptr;
  void* workspace_ = nullptr;
  size_t workspace_bytes_ = 0;
};

class Communicator;

/// Where and how a computation runs. device < 0 is the CPU.
struct Context {
  int device = -1;
  int threads = 1;                      ///< CPU worker threads for parallel_for and BLAS.
  uint64_t seed = 1701;                 ///< Base seed for fillers, dropout and data order.
  std::shared_ptr<CudaResources> cuda;  ///< set for GPU contexts
  /// The data-parallel process group (SyncBN reduces over it); null or one rank: this process.
  Communicator* comm = nullptr;

  bool on_gpu() const { return device >= 0; }
  cuda::Stream cuda_stream() const { return cuda ? cuda->stream() : nullptr; }

  /// A CPU context using `threads` workers (0 = all cores); also sets BLAS's thread count.
  static Context cpu(int threads = 0, uint64_t seed = 1701);
  /// A context on CUDA device `device` with its own stream and handles; throws DeviceError
  /// naming the cause when the device cannot be used (see require_cuda_device).
  static Context gpu(int device, int threads = 0, uint64_t seed = 1701);
};

/// Number of hardware threads available to this process.
int hardware_threads();

}  // namespace crema
