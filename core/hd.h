/// Host-device macros and helpers shared by the CPU and CUDA paths of every kernel body.
#pragma once

#include <cstdint>

#include <atomic>

#if defined(__CUDACC__)
#define CREMA_HD __host__ __device__
#else
#define CREMA_HD
#endif

namespace crema::hd {

template <class T>
CREMA_HD inline T min(T a, T b) { return b < a ? b : a; }
template <class T>
CREMA_HD inline T max(T a, T b) { return a < b ? b : a; }
template <class T>
CREMA_HD inline T clamp(T v, T lo, T hi) { return v < lo ? lo : (hi < v ? hi : v); }

/// Adds v to *p atomically: atomicAdd on the device, std::atomic_ref on the host.
template <class T>
CREMA_HD inline void atomic_add(T* p, T v) {
#if defined(__CUDA_ARCH__)
  atomicAdd(p, v);
#else
  std::atomic_ref<T>(*p).fetch_add(v, std::memory_order_relaxed);
#endif
}

}  // namespace crema::hd
