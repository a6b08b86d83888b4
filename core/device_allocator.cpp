#include "core/device_allocator.h"

#include <bit>

#include "core/error.h"

#if CREMA_WITH_CUDA
#include <cuda_runtime.h>
#endif

namespace crema {

namespace {

std::string mib(size_t bytes) { return str_cat(bytes / (1024 * 1024), " MiB"); }

}  // namespace

CachingAllocator::CachingAllocator(std::unique_ptr<AllocatorBackend> backend)
    : backend_(std::move(backend)) {}

CachingAllocator::~CachingAllocator() {
  std::lock_guard<std::mutex> lock(mu_);
  empty_cache_locked();
  // Blocks still in use belong to tensors that outlive the allocator (process exit); the
  // driver reclaims them.
}

size_t CachingAllocator::bin_size(size_t bytes) {
  constexpr size_t kMin = 512;
  if (bytes <= kMin) return kMin;
  const size_t pow2 = std::bit_floor(bytes);
  const size_t quarter = pow2 / 4;
  return (bytes + quarter - 1) / quarter * quarter;
}

void* CachingAllocator::allocate(size_t bytes, cuda::Stream stream) {
  const size_t size = bin_size(bytes);
  std::lock_guard<std::mutex> lock(mu_);
  void* p = nullptr;
  auto it = free_.find({stream, size});
  if (it != free_.end() && !it->second.empty()) {
    p = it->second.back();
    it->second.pop_back();
    stats_.cached -= size;
  } else {
    p = backend_->allocate(size);
    if (p == nullptr) {
      // Cached blocks of other sizes or streams may be what stands in the way.
      empty_cache_locked();
      p = backend_->allocate(size);
    }
    if (p == nullptr) {
      throw DeviceError(str_cat("out of ", backend_->name(), " memory allocating ", mib(size), " (",
                                mib(stats_.allocated), " in use, peak ", mib(stats_.peak_allocated),
                                "); reduce the batch size or the input size"));
    }
    ++stats_.backend_allocs;
  }
  in_use_.emplace(p, Block{size, stream});
  stats_.allocated += size;
  if (stats_.allocated > stats_.peak_allocated) stats_.peak_allocated = stats_.allocated;
  return p;
}

void CachingAllocator::free(void* p) {
  if (p == nullptr) return;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = in_use_.find(p);
  if (it == in_use_.end()) {
    throw InternalError(str_cat("CachingAllocator::free of a pointer it did not allocate (",
                                backend_->name(), ")"));
  }
  const Block b = it->second;
  in_use_.erase(it);
  stats_.allocated -= b.size;
  stats_.cached += b.size;
  free_[{b.stream, b.size}].push_back(p);
}

void CachingAllocator::empty_cache() {
  std::lock_guard<std::mutex> lock(mu_);
  empty_cache_locked();
}

void CachingAllocator::empty_cache_locked() {
  for (auto& [key, blocks] : free_) {
    for (void* p : blocks) {
      backend_->release(p);
      ++stats_.backend_releases;
    }
  }
  free_.clear();
  stats_.cached = 0;
}

AllocatorStats CachingAllocator::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void CachingAllocator::reset_peak() {
  std::lock_guard<std::mutex> lock(mu_);
  stats_.peak_allocated = stats_.allocated;
}

#if CREMA_WITH_CUDA
namespace {

class CudaDeviceBackend : public AllocatorBackend {
 public:
  explicit CudaDeviceBackend(int device) : device_(device) {}
  void* allocate(size_t bytes) override {
    void* p = nullptr;
    if (cudaSetDevice(device_) != cudaSuccess || cudaMalloc(&p, bytes) != cudaSuccess) {
      cudaGetLastError();  // an OOM is reported by the allocator, not left sticky
      return nullptr;
    }
    return p;
  }
  void release(void* p) override {
    cudaSetDevice(device_);
    cudaFree(p);
  }
  const char* name() const override { return "device"; }

 private:
  int device_;
};

class CudaPinnedBackend : public AllocatorBackend {
 public:
  void* allocate(size_t bytes) override {
    void* p = nullptr;
    if (cudaMallocHost(&p, bytes) != cudaSuccess) {
      cudaGetLastError();
      return nullptr;
    }
    return p;
  }
  void release(void* p) override { cudaFreeHost(p); }
  const char* name() const override { return "pinned host"; }
};

}  // namespace

CachingAllocator& device_allocator(int device) {
  static std::mutex mu;
  static std::map<int, std::unique_ptr<CachingAllocator>> allocators;
  std::lock_guard<std::mutex> lock(mu);
  auto& a = allocators[device];
  if (!a) a = std::make_unique<CachingAllocator>(std::make_unique<CudaDeviceBackend>(device));
  return *a;
}

CachingAllocator& pinned_allocator() {
  static CachingAllocator a(std::make_unique<CudaPinnedBackend>());
  return a;
}
#else
CachingAllocator& device_allocator(int device) {
  throw DeviceError(str_cat("device ", device, ": this build of Crema has no CUDA support"));
}
CachingAllocator& pinned_allocator() {
  throw DeviceError("pinned host memory: this build of Crema has no CUDA support");
}
#endif

}  // namespace crema
