/// Caching allocator for device (and pinned host) memory: size-binned free lists per stream, so
/// a training loop in steady state never calls cudaMalloc. The raw allocation is a pluggable
/// backend, which lets the CPU tests exercise the caching logic without a GPU.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

#include "cuda_kernels/launch.h"

namespace crema {

/// Where the bytes come from (cudaMalloc, cudaMallocHost, or a host stand-in in tests).
class AllocatorBackend {
 public:
  virtual ~AllocatorBackend() = default;
  /// Returns nullptr when out of memory (never throws).
  virtual void* allocate(size_t bytes) = 0;
  virtual void release(void* p) = 0;
  virtual const char* name() const = 0;
};

/// Usage counters of a CachingAllocator, in bytes (binned sizes) and calls.
struct AllocatorStats {
  size_t allocated = 0;       ///< handed out and not yet freed
  size_t cached = 0;          ///< held in free lists for reuse
  size_t peak_allocated = 0;  ///< highest `allocated` since construction or reset_peak()
  size_t backend_allocs = 0;  ///< calls that reached the backend (cudaMalloc)
  size_t backend_releases = 0;
};

/// Size-binned caching allocator. A freed block goes to the free list of the stream it was
/// allocated on and is reused only on that stream, so stream order alone keeps reuse safe.
class CachingAllocator {
 public:
  explicit CachingAllocator(std::unique_ptr<AllocatorBackend> backend);
  ~CachingAllocator();
  CachingAllocator(const CachingAllocator&) = delete;
  CachingAllocator& operator=(const CachingAllocator&) = delete;

  /// A block of at least `bytes` for use on `stream`; throws DeviceError when the backend is
  /// out of memory even after the cache was released.
  void* allocate(size_t bytes, cuda::Stream stream = nullptr);
  /// Returns a block from allocate() to its stream's free list; nullptr is ignored.
  void free(void* p);
  /// Gives every cached (free) block back to the backend.
  void empty_cache();
  AllocatorStats stats() const;
  void reset_peak();

  /// The size class of a request: 512-byte minimum, then four steps per power of two (waste
  /// below 25%, few distinct classes so blocks are reused across slightly different shapes).
  static size_t bin_size(size_t bytes);

 private:
  void empty_cache_locked();

  struct Block {
    size_t size;
    cuda::Stream stream;
  };
  mutable std::mutex mu_;
  std::unique_ptr<AllocatorBackend> backend_;
  std::unordered_map<void*, Block> in_use_;
  std::map<std::pair<cuda::Stream, size_t>, std::vector<void*>> free_;
  AllocatorStats stats_;
};

/// The process-wide allocator of device `device` (cudaMalloc backend); CUDA builds only.
CachingAllocator& device_allocator(int device);
/// The process-wide pinned host allocator (cudaMallocHost backend); CUDA builds only.
CachingAllocator& pinned_allocator();

}  // namespace crema
