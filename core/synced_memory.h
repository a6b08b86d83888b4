/// Lazily allocated tensor storage with Caffe's SyncedMemory semantics: a host and (in CUDA
/// builds) a device copy, synced on access according to which side holds the current data.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>

#include "core/error.h"
#include "cuda_kernels/launch.h"

namespace crema {

/// A byte buffer allocated (zero-filled) on first access, on the side that asks first.
/// Host memory is 64-byte aligned, or pinned (from the pinned caching allocator) once the
/// buffer has been used on a device so transfers run at full speed; device memory comes from
/// the device's caching allocator, never managed memory.
class SyncedMemory {
 public:
  /// Which copy is current: none yet, host only, device only, or both equal.
  enum class Head { kUninitialized, kHost, kDevice, kSynced };

  explicit SyncedMemory(size_t bytes = 0) : size_(bytes) {}
  ~SyncedMemory();
  SyncedMemory(const SyncedMemory&) = delete;
  SyncedMemory& operator=(const SyncedMemory&) = delete;

  const void* cpu_data() { return to_host(); }
  void* mutable_cpu_data() {
    void* p = to_host();
    head_ = Head::kHost;
    return p;
  }
  /// Device copy on `device`, transferred on `stream` when the host copy is newer. A buffer
  /// lives on one device for its lifetime. CUDA builds only (DeviceError otherwise).
  const void* gpu_data(int device, cuda::Stream stream) { return to_device(device, stream); }
  void* mutable_gpu_data(int device, cuda::Stream stream) {
    void* p = to_device(device, stream);
    head_ = Head::kDevice;
    return p;
  }

  size_t size() const { return size_; }
  bool allocated() const { return host_ != nullptr || device_ptr_ != nullptr; }
  Head head() const { return head_; }

  /// Host bytes held by all SyncedMemory objects now, and the peak since start or reset.
  static size_t host_bytes_in_use() { return host_bytes_.load(); }
  static size_t host_bytes_peak() { return host_peak_.load(); }
  static void reset_host_peak() { host_peak_.store(host_bytes_.load()); }

 private:
  void* to_host();
  void* to_device(int device, cuda::Stream stream);
  void allocate_host();

  size_t rounded() const { return (size_ + 63) / 64 * 64; }

  void* host_ = nullptr;
  bool host_pinned_ = false;
  void* device_ptr_ = nullptr;
  int device_ = -1;
  cuda::Stream stream_ = nullptr;  // the stream device_ptr_ was allocated on
  Head head_ = Head::kUninitialized;
  size_t size_ = 0;
  static inline std::atomic<size_t> host_bytes_{0};
  static inline std::atomic<size_t> host_peak_{0};
};

}  // namespace crema
