/// SoftmaxWithLossLayer: Caffe's SoftmaxWithLoss, multinomial logistic loss of a softmax.
#pragma once

#include <vector>

#include "core/layer.h"
#include "cuda_kernels/softmax.h"
#include "cuda_kernels/softmax_loss.h"
#include "ops/class_label.h"

namespace crema {

/// Bottoms (scores, labels); top 0 the scalar loss -sum log(max(p[label], FLT_MIN)) / normalizer,
/// optional top 1 the probabilities. The softmax runs along softmax_param.axis; labels hold one
/// integer class per position of the other axes (count = outer * inner). loss_param:
/// ignore_label, normalization (FULL, VALID (default), BATCH_SIZE, NONE) and the legacy
/// `normalize` (false means BATCH_SIZE unless normalization is set). The normalizer is at least
/// 1. Backward reaches the scores only; the probability top takes no gradient.
template <class T>
class SoftmaxWithLossLayer : public Layer<T> {
 public:
  explicit SoftmaxWithLossLayer(const LayerParameter& param) : Layer<T>(param) {}

  const char* type() const override { return "SoftmaxWithLoss"; }
  int exact_num_bottom() const override { return 2; }
  int min_num_top() const override { return 1; }
  int max_num_top() const override { return 2; }
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
  /// The end of forward on either device, after the per-position bodies: the label report and the
  /// fixed-order sum (LabelLossSum), the loss, and the probabilities copied to top 1.
  void finish_forward(Context& ctx, const T* loss, const T* state, const TensorVec<T>& bottom,
                      const TensorVec<T>& top);
  int axis_ = 1;
  LossParameter::NormalizationMode normalization_ = LossParameter::VALID;
  kernels::SoftmaxArgs softmax_;
  kernels::SoftmaxLossArgs loss_args_;
  Tensor<T> prob_;
  Tensor<T> item_loss_;   ///< loss per position
  Tensor<T> item_state_;  ///< decoded label per position (see decode_label)
  T normalizer_ = 1;      ///< of the last forward, reused by backward
  LabelLossSum<T> loss_sum_;
};

}  // namespace crema
