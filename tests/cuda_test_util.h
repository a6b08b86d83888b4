/// GPU test helpers: device detection that never fails, and device buffers for launcher tests.
#pragma once

#include <gtest/gtest.h>

#include <vector>

#if CREMA_WITH_CUDA
#include <cuda_runtime.h>
#endif

namespace crema::testing {

/// Number of usable CUDA devices; any error from the runtime (no driver, no device) means 0.
inline int cuda_device_count() {
#if CREMA_WITH_CUDA
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky error so later calls start clean
    return 0;
  }
  return n;
#else
  return 0;
#endif
}

/// Why GPU tests skip here, or "" when a device is present.
inline const char* gpu_skip_reason() {
#if CREMA_WITH_CUDA
  return cuda_device_count() > 0 ? "" : "no CUDA device on this machine";
#else
  return "this build has no CUDA backend (CREMA_CUDA=OFF or no nvcc)";
#endif
}

}  // namespace crema::testing

/// Skips the current test unless a CUDA device is present.
#define CREMA_REQUIRE_GPU()                                    \
  do {                                                         \
    const char* reason_ = ::crema::testing::gpu_skip_reason(); \
    if (reason_[0] != '\0') GTEST_SKIP() << reason_;           \
  } while (0)

#if CREMA_WITH_CUDA
namespace crema::testing {

/// A device copy of a host vector for launcher tests (CUDA builds only).
template <class T>
class DeviceBuffer {
 public:
  explicit DeviceBuffer(const std::vector<T>& host) : n_(host.size()) {
    EXPECT_EQ(cudaMalloc(&ptr_, bytes()), cudaSuccess);
    EXPECT_EQ(cudaMemcpy(ptr_, host.data(), bytes(), cudaMemcpyHostToDevice), cudaSuccess);
  }
  explicit DeviceBuffer(size_t n, T value = T(0)) : DeviceBuffer(std::vector<T>(n, value)) {}
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  ~DeviceBuffer() { cudaFree(ptr_); }

  T* get() { return static_cast<T*>(ptr_); }
  std::vector<T> to_host() const {
    std::vector<T> out(n_);
    EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    EXPECT_EQ(cudaMemcpy(out.data(), ptr_, bytes(), cudaMemcpyDeviceToHost), cudaSuccess);
    return out;
  }

 private:
  size_t bytes() const { return n_ * sizeof(T); }
  void* ptr_ = nullptr;
  size_t n_;
};

}  // namespace crema::testing
#endif
