#include "core/synced_memory.h"

#include "core/device_allocator.h"

#if CREMA_WITH_CUDA
#include <cuda_runtime.h>
#endif

namespace crema {

namespace {

#if CREMA_WITH_CUDA
void check(cudaError_t err, const char* what, size_t bytes) {
  if (err != cudaSuccess) {
    cudaGetLastError();
    throw DeviceError(str_cat(what, " of ", bytes, " bytes failed: ", cudaGetErrorName(err), " (",
                              cudaGetErrorString(err), ")"));
  }
}
#endif

}  // namespace

SyncedMemory::~SyncedMemory() {
  if (host_ != nullptr) {
    host_bytes_ -= rounded();
#if CREMA_WITH_CUDA
    if (host_pinned_) {
      pinned_allocator().free(host_);
    } else {
      std::free(host_);
    }
#else
    std::free(host_);
#endif
  }
#if CREMA_WITH_CUDA
  if (device_ptr_ != nullptr) device_allocator(device_).free(device_ptr_);
#endif
}

void SyncedMemory::allocate_host() {
#if CREMA_WITH_CUDA
  if (device_ >= 0) {
    host_ = pinned_allocator().allocate(rounded());
    host_pinned_ = true;
  }
#endif
  if (host_ == nullptr) {
    host_ = std::aligned_alloc(64, rounded());
    if (host_ == nullptr) throw Error(str_cat("out of host memory allocating ", size_, " bytes"));
  }
  std::memset(host_, 0, rounded());
  const size_t now = host_bytes_ += rounded();
  size_t peak = host_peak_.load();
  while (now > peak && !host_peak_.compare_exchange_weak(peak, now)) {
  }
}

void* SyncedMemory::to_host() {
  if (size_ == 0) return nullptr;
  switch (head_) {
    case Head::kUninitialized:
      allocate_host();
      head_ = Head::kHost;
      break;
    case Head::kDevice:
#if CREMA_WITH_CUDA
      if (host_ == nullptr) allocate_host();
      check(cudaSetDevice(device_), "cudaSetDevice", size_);
      check(cudaMemcpyAsync(host_, device_ptr_, size_, cudaMemcpyDeviceToHost, stream_),
            "device-to-host copy", size_);
      check(cudaStreamSynchronize(stream_), "device-to-host copy", size_);
#endif
      head_ = Head::kSynced;
      break;
    case Head::kHost:
    case Head::kSynced:
      break;
  }
  return host_;
}

void* SyncedMemory::to_device(int device, cuda::Stream stream) {
#if CREMA_WITH_CUDA
  if (size_ == 0) return nullptr;
  if (device_ptr_ == nullptr) {
    device_ = device;
    stream_ = stream;
    device_ptr_ = device_allocator(device).allocate(rounded(), stream);
  } else if (device != device_) {
    throw InternalError(str_cat("a tensor on GPU ", device_, " was used on GPU ", device));
  }
  check(cudaSetDevice(device_), "cudaSetDevice", size_);
  switch (head_) {
    case Head::kUninitialized:
      check(cudaMemsetAsync(device_ptr_, 0, rounded(), stream), "device zero-fill", size_);
      head_ = Head::kDevice;
      break;
    case Head::kHost:
      check(cudaMemcpyAsync(device_ptr_, host_, size_, cudaMemcpyHostToDevice, stream),
            "host-to-device copy", size_);
      // The host copy may be written right after this returns.
      check(cudaStreamSynchronize(stream), "host-to-device copy", size_);
      head_ = Head::kSynced;
      break;
    case Head::kDevice:
    case Head::kSynced:
      break;
  }
  return device_ptr_;
#else
  throw DeviceError(str_cat("GPU ", device, ": this build of Crema has no CUDA support"));
#endif
}

}  // namespace crema
