/// Decoding of class-index labels stored as floating point, shared by the label-consuming
/// kernel bodies (SoftmaxWithLoss, Accuracy).
#pragma once

#include <cstdint>

#include "core/hd.h"

namespace crema::kernels {

/// decode_label's result for a label equal to the ignore_label.
inline constexpr int64_t kLabelIgnored = -1;
/// decode_label's result for a label that is neither a class index nor the ignore_label.
inline constexpr int64_t kLabelInvalid = -2;

/// The class index of label v (an integer in [0, num_classes)), kLabelIgnored, or
/// kLabelInvalid (out of range, fractional or NaN). Range is tested before the integer cast so
/// the cast never overflows.
template <class T>
CREMA_HD inline int64_t decode_label(T v, int64_t num_classes, bool has_ignore_label,
                                     int ignore_label) {
  if (has_ignore_label && v == static_cast<T>(ignore_label)) return kLabelIgnored;
  if (!(v >= T(0) && v < static_cast<T>(num_classes))) return kLabelInvalid;
  const int64_t k = static_cast<int64_t>(v);
  return static_cast<T>(k) == v ? k : kLabelInvalid;
}

}  // namespace crema::kernels
