/// Lazily allocated tensor storage. Host-side today; the CUDA backend adds the device copy and
/// Caffe's head state (which side holds the current data) behind the same accessors.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>

#include "core/error.h"

namespace crema {

/// A byte buffer that is allocated (zero-filled, 64-byte aligned) on first access.
class SyncedMemory {
 public:
  explicit SyncedMemory(size_t bytes = 0) : size_(bytes) {}
  ~SyncedMemory() {
    if (host_ != nullptr) host_bytes_ -= rounded();
    std::free(host_);
  }
  SyncedMemory(const SyncedMemory&) = delete;
  SyncedMemory& operator=(const SyncedMemory&) = delete;

  const void* cpu_data() { return ensure_host(); }
  void* mutable_cpu_data() { return ensure_host(); }
  size_t size() const { return size_; }
  bool allocated() const { return host_ != nullptr; }

  /// Host bytes held by all SyncedMemory objects now, and the peak since start or reset.
  static size_t host_bytes_in_use() { return host_bytes_.load(); }
  static size_t host_bytes_peak() { return host_peak_.load(); }
  static void reset_host_peak() { host_peak_.store(host_bytes_.load()); }

 private:
  void* ensure_host() {
    if (host_ == nullptr && size_ > 0) {
      host_ = std::aligned_alloc(64, rounded());
      if (host_ == nullptr)
        throw Error(str_cat("out of host memory allocating ", size_, " bytes"));
      std::memset(host_, 0, rounded());
      const size_t now = host_bytes_ += rounded();
      size_t peak = host_peak_.load();
      while (now > peak && !host_peak_.compare_exchange_weak(peak, now)) {
      }
    }
    return host_;
  }

  size_t rounded() const { return (size_ + 63) / 64 * 64; }

  void* host_ = nullptr;
  size_t size_ = 0;
  static inline std::atomic<size_t> host_bytes_{0};
  static inline std::atomic<size_t> host_peak_{0};
};

}  // namespace crema
