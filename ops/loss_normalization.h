/// Loss normalization as Caffe's loss layers resolve it (LossParameter.normalization).
#pragma once

#include <algorithm>
#include <cstdint>

#include "proto/crema.pb.h"

namespace crema {

/// `normalization` when set, else the legacy `normalize` (true: VALID, false: BATCH_SIZE), else
/// `fallback` (Caffe's per-layer default: VALID for SoftmaxWithLoss, BATCH_SIZE for
/// SigmoidCrossEntropyLoss).
inline LossParameter::NormalizationMode resolve_normalization(
    const LossParameter& p, LossParameter::NormalizationMode fallback) {
  if (p.has_normalization()) return p.normalization();
  if (p.has_normalize()) return p.normalize() ? LossParameter::VALID : LossParameter::BATCH_SIZE;
  return fallback;
}

/// The divisor of a loss over `outer` x `inner` positions of which `valid` count: FULL
/// outer * inner, VALID valid, BATCH_SIZE outer, NONE 1. Never less than 1 (as Caffe), so a
/// batch whose labels are all ignored gives loss 0 rather than 0/0.
inline double loss_normalizer(LossParameter::NormalizationMode mode, int64_t outer, int64_t inner,
                              int64_t valid) {
  double n = 1;
  switch (mode) {
    case LossParameter::FULL:
      n = static_cast<double>(outer) * static_cast<double>(inner);
      break;
    case LossParameter::VALID:
      n = static_cast<double>(valid);
      break;
    case LossParameter::BATCH_SIZE:
      n = static_cast<double>(outer);
      break;
    case LossParameter::NONE:
      n = 1;
      break;
  }
  return std::max(1.0, n);
}

}  // namespace crema
