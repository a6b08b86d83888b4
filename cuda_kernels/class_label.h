/// Decoding of class-index labels stored as floating point, shared by the label-consuming
/// kernel bodies (SoftmaxWithLoss, Accuracy).
#pragma once

#include <cstdint>

#include "core/hd.h"
#include "cuda_kernels/launch.h"

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

/// One block's share of a per-position loss: its sum, how many of its positions have a class
/// label, and its first position whose label is invalid (-1 when none).
struct LabelBlock {
  double sum;
  int64_t valid;
  int64_t first_invalid;
};

/// Work item b in [0, ceil(n / block)): positions [b * block, min(n, (b + 1) * block)). Reads the
/// per-position values value[j] and decoded labels state[j] (see decode_label); writes blocks[b].
/// GATHER. The host adds the few blocks in order, so the total is the same on every device and
/// thread count, and only the blocks (not one value per position) leave a GPU.
template <class T>
CREMA_HD inline void label_block_sum(int64_t b, int64_t n, int64_t block, const T* value,
                                     const T* state, LabelBlock* blocks) {
  const int64_t begin = b * block, end = hd::min(n, begin + block);
  LabelBlock r{0.0, 0, -1};
  for (int64_t j = begin; j < end; ++j) {
    r.sum += static_cast<double>(value[j]);
    if (state[j] >= T(0)) ++r.valid;
    if (r.first_invalid < 0 && state[j] == static_cast<T>(kLabelInvalid)) r.first_invalid = j;
  }
  blocks[b] = r;
}

}  // namespace crema::kernels

namespace crema::cuda {

/// Launcher of label_block_sum (cuda_kernels/class_label.cu; CUDA builds only).
template <class T>
void launch_label_block_sum(Stream s, int64_t num_blocks, int64_t n, int64_t block, const T* value,
                            const T* state, kernels::LabelBlock* blocks);

}  // namespace crema::cuda
