/// InfogainLossLayer<T>: Caffe's InfogainLoss, softmax cross entropy weighted by an infogain
/// matrix H.
#pragma once

#include "core/layer.h"
#include "cuda_kernels/infogain_loss.h"
#include "cuda_kernels/softmax.h"
#include "ops/class_label.h"

namespace crema {

/// Bottoms (scores, labels[, H]); top 0 the scalar
/// -sum_positions sum_l H[label, l] log(max(p_l, 1e-20)) / normalizer with p the softmax of the
/// scores along infogain_loss_param.axis (default 1), optional top 1 the probabilities. Labels
/// hold one integer class per position of the other axes. H (C x C, any shape of C*C elements)
/// is bottom 2 or, with two bottoms, the BlobProto file infogain_loss_param.source. loss_param:
/// ignore_label, normalization (default VALID; the legacy `normalize` is rejected as in Caffe).
/// H = identity gives SoftmaxWithLoss (with Caffe's 1e-20 log clamp). Backward reaches the
/// scores only.
template <class T>
class InfogainLossLayer : public Layer<T> {
 public:
  using Layer<T>::Layer;

  const char* type() const override { return "InfogainLoss"; }
  int min_num_bottom() const override { return 2; }
  int max_num_bottom() const override { return 3; }
  int min_num_top() const override { return 1; }
  int max_num_top() const override { return 2; }
  bool allow_force_backward(int bottom_index) const override { return bottom_index == 0; }

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
  /// H: bottom 2 when given, else the matrix read from infogain_loss_param.source.
  const Tensor<T>& infogain(const TensorVec<T>& bottom) const {
    return bottom.size() > 2 ? *bottom[2] : infogain_;
  }
  /// The end of forward on either device, after the per-position bodies: the label report and the
  /// fixed-order sum (LabelLossSum), the normalizer, top 0, and the probabilities copied to top 1.
  void finish_forward(Context& ctx, const T* loss, const T* state, const TensorVec<T>& bottom,
                      const TensorVec<T>& top);
  /// The host half of backward on either device: rejects gradients for the labels and H and
  /// returns the loss weight over the normalizer.
  T backward_scale(const TensorVec<T>& top, const std::vector<bool>& propagate_down) const;

  int axis_ = 1;
  LossParameter::NormalizationMode normalization_ = LossParameter::VALID;
  kernels::SoftmaxArgs softmax_;
  kernels::InfogainLossArgs args_;
  Tensor<T> infogain_;  ///< H read from infogain_loss_param.source
  Tensor<T> prob_;
  Tensor<T> item_loss_;   ///< loss per position
  Tensor<T> item_state_;  ///< decoded label per position
  LabelLossSum<T> loss_sum_;
  T normalizer_ = 1;  ///< of the last forward, reused by backward
};

}  // namespace crema
