/// Naive Dropout reference: the mask from the documented formula, then y = x * mask / (1 - p).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/rng.h"

namespace crema::ref {

/// Keep bits of a layer's call number `call`: uniform(seed, hash(name) ^ call, i) >= p.
inline std::vector<int> dropout_mask(uint64_t seed, const std::string& name, uint64_t call,
                                     int64_t n, float p) {
  const uint64_t stream = rng::hash_name(name.c_str()) ^ call;
  std::vector<int> keep(n);
  for (int64_t i = 0; i < n; ++i)
    keep[i] = rng::uniform(seed, stream, static_cast<uint64_t>(i)) >= p ? 1 : 0;
  return keep;
}

/// y = x * keep / (1 - p) (also the backward map from dy to dx).
template <class T>
std::vector<double> dropout_apply(const T* x, const std::vector<int>& keep, double p) {
  std::vector<double> y(keep.size());
  for (size_t i = 0; i < keep.size(); ++i)
    y[i] = keep[i] ? static_cast<double>(x[i]) / (1.0 - p) : 0.0;
  return y;
}

}  // namespace crema::ref
