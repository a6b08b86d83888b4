/// Lazily allocated tensor storage. Host-side today; the CUDA backend adds the device copy and
/// Caffe's head state (which side holds the current data) behind the same accessors.
#pragma once

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
  ~SyncedMemory() { std::free(host_); }
  SyncedMemory(const SyncedMemory&) = delete;
  SyncedMemory& operator=(const SyncedMemory&) = delete;

  const void* cpu_data() { return ensure_host(); }
  void* mutable_cpu_data() { return ensure_host(); }
  size_t size() const { return size_; }

 private:
  void* ensure_host() {
    if (host_ == nullptr && size_ > 0) {
      const size_t rounded = (size_ + 63) / 64 * 64;
      host_ = std::aligned_alloc(64, rounded);
      if (host_ == nullptr)
        throw Error(str_cat("out of host memory allocating ", size_, " bytes"));
      std::memset(host_, 0, rounded);
    }
    return host_;
  }

  void* host_ = nullptr;
  size_t size_ = 0;
};

}  // namespace crema
