/// SigmoidCrossEntropyLossLayer<T>: Caffe's SigmoidCrossEntropyLoss, logistic loss of scores
/// against targets in [0, 1].
#pragma once

#include "core/layer.h"
#include "cuda_kernels/sigmoid_cross_entropy_loss.h"

namespace crema {

/// Bottoms (scores x, targets t) with equal counts and first (batch) dimension N; top the
/// scalar -sum [t log s(x) + (1 - t) log(1 - s(x))] / normalizer, computed without overflow.
/// loss_param: ignore_label (targets equal to it are skipped), normalization (FULL, VALID,
/// BATCH_SIZE, NONE; default BATCH_SIZE as in Caffe, or VALID / BATCH_SIZE from the legacy
/// `normalize`). Backward reaches the scores only: (s(x) - t) / normalizer.
template <class T>
class SigmoidCrossEntropyLossLayer : public Layer<T> {
 public:
  using Layer<T>::Layer;

  const char* type() const override { return "SigmoidCrossEntropyLoss"; }
  int exact_num_bottom() const override { return 2; }
  int exact_num_top() const override { return 1; }
  bool allow_force_backward(int bottom_index) const override { return bottom_index != 1; }

  void layer_setup(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) override;
  void reshape(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) override;
  bool has_gpu_path() const override { return CREMA_WITH_CUDA != 0; }

 protected:
  void forward_cpu(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) override;
  void backward_cpu(Context& ctx, const TensorVec<T>& top, const std::vector<bool>& propagate_down,
                    const TensorVec<T>& bottom) override;
#if CREMA_WITH_CUDA
  void forward_gpu(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) override;
  void backward_gpu(Context& ctx, const TensorVec<T>& top, const std::vector<bool>& propagate_down,
                    const TensorVec<T>& bottom) override;
#endif

 private:
  /// The host half of forward, after the block body ran (on either device): adds the block
  /// partials in order, sets the normalizer and writes the top.
  void finish_forward(const TensorVec<T>& top);
  /// The host half of backward on either device: rejects a gradient for the targets and
  /// returns the loss weight over the normalizer.
  T backward_scale(const TensorVec<T>& top, const std::vector<bool>& propagate_down) const;

  /// Elements per forward work item; fixed so the sum does not depend on the thread count.
  static constexpr int64_t kBlock = 1 << 14;

  kernels::SigmoidCrossEntropyLossArgs args_;
  LossParameter::NormalizationMode normalization_ = LossParameter::BATCH_SIZE;
  int64_t outer_ = 1;  ///< N
  Tensor<double> partial_loss_, partial_valid_;
  T normalizer_ = 1;  ///< of the last forward, reused by backward
};

}  // namespace crema
