/// Counter-based random numbers: a value is a pure function of (seed, stream, index), so results do
/// not depend on thread count or device, and resuming needs only the counters.
#pragma once

#include <cstdint>

#include "core/hd.h"

namespace crema::rng {

/// SplitMix64 finalizer: a strong 64-bit mix.
CREMA_HD inline uint64_t mix64(uint64_t z) {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/// 64 random bits for element `index` of stream `stream` under `seed`.
CREMA_HD inline uint64_t bits(uint64_t seed, uint64_t stream, uint64_t index) {
  return mix64(mix64(seed ^ mix64(stream)) + index);
}

/// Uniform in [0, 1) with 24 bits (exact in float).
CREMA_HD inline float uniform(uint64_t seed, uint64_t stream, uint64_t index) {
  return static_cast<float>(bits(seed, stream, index) >> 40) * (1.0f / 16777216.0f);
}

}  // namespace crema::rng

namespace crema::rng {

/// FNV-1a hash of a string: a stable stream id for a name (std::hash is not stable).
inline uint64_t hash_name(const char* s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (; *s; ++s) h = (h ^ static_cast<unsigned char>(*s)) * 0x100000001b3ull;
  return h;
}

}  // namespace crema::rng
