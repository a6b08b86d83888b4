/// Host-side report of bad class labels found by the label-consuming kernels (see
/// cuda_kernels/class_label.h), shared by SoftmaxWithLoss and Accuracy.
#pragma once

#include <cstdint>
#include <iomanip>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "core/context.h"
#include "core/error.h"
#include "core/parallel.h"
#include "core/tensor.h"
#include "cuda_kernels/class_label.h"
#include "ops/gpu_scratch.h"

namespace crema {

/// Throws DataError naming the first position whose decoded label (state[i]) is
/// kLabelInvalid, with its value; `axis` and `classes` describe the class axis of bottom 0.
/// Checks that `label` holds one value per sample of `x` (N x ...), naming `what` x holds, and
/// returns N.
template <class T>
int64_t samples_with_one_label(const Tensor<T>& x, const Tensor<T>& label, const char* what) {
  CREMA_CHECK_AS(ShapeError, x.num_axes() >= 1, "bottom 0 (", what,
                 ") is a scalar; it needs shape N x K");
  const int64_t n = x.shape(0);
  CREMA_CHECK_AS(ShapeError, label.count() == n, "bottom 1 (labels) has shape ",
                 label.shape_string(), " but bottom 0 (", what, ") has shape ", x.shape_string(),
                 "; give one label per sample (", n, ")");
  return n;
}

/// Throws DataError for the label v found at `position` (neither a class index in
/// [0, classes) nor the ignore_label); `axis` is the class axis of bottom 0.
template <class T>
[[noreturn]] void throw_bad_label(T v, int64_t position, int64_t classes, int axis,
                                  bool has_ignore_label, int ignore_label) {
  std::ostringstream value;
  value << std::setprecision(std::numeric_limits<T>::max_digits10) << v;
  const bool in_range = v >= T(0) && v < static_cast<T>(classes);
  const std::string what =
      in_range ? std::string(" is not an integer") : str_cat(" is outside [0, ", classes, ")");
  std::string msg = str_cat("label ", value.str(), " at position ", position, what,
                            "; labels must be integer class indices for the ", classes,
                            " classes along axis ", axis, " of bottom 0");
  if (has_ignore_label) msg += str_cat(", or the ignore_label ", ignore_label);
  throw DataError(msg);
}

template <class T>
void check_class_labels(const T* state, const T* label, int64_t n, int64_t classes, int axis,
                        bool has_ignore_label, int ignore_label) {
  for (int64_t i = 0; i < n; ++i) {
    if (state[i] == static_cast<T>(kernels::kLabelInvalid))
      throw_bad_label(label[i], i, classes, axis, has_ignore_label, ignore_label);
  }
}

/// The sum of a per-position loss and the count of its labelled positions, taken in blocks of
/// positions on the pass's device (label_block_sum) and added on the host in block order, so the
/// result is the same on every device and thread count and only the blocks leave a GPU. The first
/// invalid label is reported (throw_bad_label).
template <class T>
class LabelLossSum {
 public:
  struct Result {
    double total = 0;
    int64_t valid = 0;
  };

  /// value and state (n positions, see decode_label) are on ctx's device; label is the bottom
  /// of raw labels, read on the host only to report a bad one.
  Result sum(const Context& ctx, int64_t n, const T* value, const T* state, const Tensor<T>& label,
             int64_t classes, int axis, bool has_ignore_label, int ignore_label) {
    const int64_t nb = (n + kBlock - 1) / kBlock;
    const kernels::LabelBlock* blocks = nullptr;
    // The launcher call is T-dependent, so a CPU-only build never instantiates it.
    if constexpr (CREMA_WITH_CUDA != 0) {
      if (ctx.on_gpu()) {
        cuda::launch_label_block_sum<T>(ctx.cuda_stream(), nb, n, kBlock, value, state,
                                        blocks_d_.resize(ctx, nb));
        blocks = blocks_d_.to_host();
      }
    }
    if (blocks == nullptr) {
      blocks_.resize(static_cast<size_t>(nb));
      kernels::LabelBlock* out = blocks_.data();
      parallel_for(ctx, nb,
                   [&](int64_t b) { kernels::label_block_sum(b, n, kBlock, value, state, out); });
      blocks = out;
    }
    Result r;
    for (int64_t b = 0; b < nb; ++b) {
      const int64_t bad = blocks[b].first_invalid;
      if (bad >= 0)
        throw_bad_label(label.cpu_data()[bad], bad, classes, axis, has_ignore_label, ignore_label);
      r.total += blocks[b].sum;
      r.valid += blocks[b].valid;
    }
    return r;
  }

 private:
  static constexpr int64_t kBlock = 4096;  // positions per block: few blocks to read back
  std::vector<kernels::LabelBlock> blocks_;
  cuda::DeviceScratch<kernels::LabelBlock> blocks_d_;
};

}  // namespace crema
