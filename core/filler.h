/// Parameter initialisation from a FillerParameter (Caffe's fillers).
#pragma once

#include <cstdint>

#include "core/tensor.h"

namespace crema {

class FillerParameter;

/// Fills t's data per `filler` (constant, uniform, gaussian, positive_unitball, xavier, msra,
/// bilinear) using a generator seeded with `seed`. Throws ConfigError for unknown types.
template <class T>
void fill(const FillerParameter& filler, Tensor<T>* t, uint64_t seed);

}  // namespace crema
