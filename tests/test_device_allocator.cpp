#include <gtest/gtest.h>

#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include "core/cuda_device.h"
#include "core/device_allocator.h"
#include "core/error.h"

namespace crema {
namespace {

// Host memory standing in for cudaMalloc, with a budget to provoke out-of-memory.
class FakeBackend : public AllocatorBackend {
 public:
  explicit FakeBackend(size_t budget, size_t* live) : budget_(budget), live_(live) {}
  void* allocate(size_t bytes) override {
    if (*live_ + bytes > budget_) return nullptr;
    *live_ += bytes;
    void* p = std::malloc(bytes);
    sizes_[p] = bytes;
    return p;
  }
  void release(void* p) override {
    *live_ -= sizes_.at(p);
    sizes_.erase(p);
    std::free(p);
  }
  const char* name() const override { return "fake"; }

 private:
  size_t budget_;
  size_t* live_;
  std::map<void*, size_t> sizes_;
};

cuda::Stream stream(int k) { return reinterpret_cast<cuda::Stream>(static_cast<intptr_t>(k)); }

TEST(DeviceAllocator, BinsBoundWasteAndAreMonotonic) {
  EXPECT_EQ(CachingAllocator::bin_size(1), 512u);
  EXPECT_EQ(CachingAllocator::bin_size(512), 512u);
  EXPECT_EQ(CachingAllocator::bin_size(1024), 1024u);
  EXPECT_EQ(CachingAllocator::bin_size(1025), 1280u);
  EXPECT_EQ(CachingAllocator::bin_size((1u << 20) + 1), (1u << 20) + (1u << 18));
  size_t prev = 0;
  for (size_t b = 1; b < (size_t(1) << 24); b = b * 5 / 4 + 7) {
    const size_t s = CachingAllocator::bin_size(b);
    EXPECT_GE(s, b);
    EXPECT_LE(s, b < 512 ? 512 : b + b / 4) << b;  // under 25% waste
    EXPECT_GE(s, prev);
    prev = s;
  }
}

TEST(DeviceAllocator, SteadyStateReusesBlocksWithoutBackendCalls) {
  size_t live = 0;
  CachingAllocator a(std::make_unique<FakeBackend>(size_t(1) << 30, &live));
  const std::vector<size_t> iteration = {4000, 100000, 1 << 20, 333, 4000};
  for (int it = 0; it < 5; ++it) {
    std::vector<void*> blocks;
    for (size_t b : iteration) blocks.push_back(a.allocate(b, stream(1)));
    EXPECT_EQ(std::set<void*>(blocks.begin(), blocks.end()).size(), blocks.size());
    for (void* p : blocks) a.free(p);
  }
  const AllocatorStats s = a.stats();
  EXPECT_EQ(s.backend_allocs, iteration.size());  // only the first iteration allocated
  EXPECT_EQ(s.allocated, 0u);
  EXPECT_EQ(s.cached, live);
  size_t want_peak = 0;
  for (size_t b : iteration) want_peak += CachingAllocator::bin_size(b);
  EXPECT_EQ(s.peak_allocated, want_peak);
}

TEST(DeviceAllocator, BlocksAreReusedOnlyOnTheirStream) {
  size_t live = 0;
  CachingAllocator a(std::make_unique<FakeBackend>(size_t(1) << 30, &live));
  void* p = a.allocate(5000, stream(1));
  a.free(p);
  void* q = a.allocate(5000, stream(2));
  EXPECT_NE(p, q);
  void* r = a.allocate(5000, stream(1));
  EXPECT_EQ(p, r);
  EXPECT_EQ(a.stats().backend_allocs, 2u);
  a.free(q);
  a.free(r);
}

TEST(DeviceAllocator, OutOfMemoryReleasesCacheThenReports) {
  size_t live = 0;
  CachingAllocator a(std::make_unique<FakeBackend>(3 << 20, &live));
  void* p = a.allocate(2 << 20, stream(1));
  a.free(p);  // cached, still counted by the backend
  // 2 MiB more does not fit beside the cached block: the cache is released and it succeeds.
  void* q = a.allocate(2 << 20, stream(2));
  EXPECT_NE(q, nullptr);
  EXPECT_EQ(a.stats().cached, 0u);
  EXPECT_EQ(a.stats().backend_releases, 1u);
  try {
    a.allocate(2 << 20, stream(2));
    FAIL() << "expected DeviceError";
  } catch (const DeviceError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("out of fake memory"), std::string::npos) << msg;
    EXPECT_NE(msg.find("batch size"), std::string::npos) << msg;
  }
  a.free(q);
  a.empty_cache();
  EXPECT_EQ(live, 0u);
}

TEST(DeviceAllocator, FreeingAForeignPointerIsAnInternalError) {
  size_t live = 0;
  CachingAllocator a(std::make_unique<FakeBackend>(1 << 20, &live));
  int x = 0;
  EXPECT_THROW(a.free(&x), InternalError);
  EXPECT_NO_THROW(a.free(nullptr));
}

TEST(CudaDevice, ArchitectureMatching) {
  EXPECT_TRUE(cuda_arch_runs_on({80, 90}, 8, 0));
  EXPECT_TRUE(cuda_arch_runs_on({80, 90}, 8, 6));
  EXPECT_TRUE(cuda_arch_runs_on({80, 90}, 9, 0));
  EXPECT_TRUE(cuda_arch_runs_on({80, 90}, 12, 0));  // PTX JIT
  EXPECT_FALSE(cuda_arch_runs_on({80, 90}, 7, 5));
  EXPECT_FALSE(cuda_arch_runs_on({}, 9, 0));
}

TEST(CudaDevice, MissingDeviceIsAClearError) {
  if (!cuda_devices().empty()) GTEST_SKIP() << "a CUDA device is present";
  try {
    require_cuda_device(0);
    FAIL() << "expected DeviceError";
  } catch (const DeviceError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("--gpu 0"), std::string::npos) << msg;
    EXPECT_TRUE(msg.find("no CUDA support") != std::string::npos ||
                msg.find("no usable CUDA device") != std::string::npos)
        << msg;
  }
  if (cuda_built()) {
    EXPECT_FALSE(cuda_built_architectures().empty());
  }
}

}  // namespace
}  // namespace crema
