/// ContrastiveLossLayer<T>: Caffe's ContrastiveLoss over pairs of feature vectors.
#pragma once

#include "core/layer.h"
#include "cuda_kernels/contrastive_loss.h"

namespace crema {

/// Bottoms (a, b, y): features a and b of the same shape (N pairs of count/N values) and N
/// similarity labels (1 similar, 0 dissimilar). Top the scalar
/// sum [y d^2 + (1 - y) max(margin - d, 0)^2] / 2N with d = |a - b|;
/// contrastive_loss_param.legacy_version uses max(margin - d^2, 0) instead. margin defaults
/// to 1. Backward reaches a and b (the non-legacy gradient divides by d + 1e-4 as Caffe).
template <class T>
class ContrastiveLossLayer : public Layer<T> {
 public:
  using Layer<T>::Layer;

  const char* type() const override { return "ContrastiveLoss"; }
  int exact_num_bottom() const override { return 3; }
  int exact_num_top() const override { return 1; }
  bool allow_force_backward(int bottom_index) const override { return bottom_index != 2; }

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
  /// The host half of forward, after the per-pair body ran (on either device): checks the
  /// labels, sums the pair losses in a fixed order and writes the top.
  void finish_forward(const TensorVec<T>& bottom, const TensorVec<T>& top);
  /// The host half of backward on either device: rejects a gradient for the labels and returns
  /// the loss weight over N.
  T backward_weight(const TensorVec<T>& top, const std::vector<bool>& propagate_down) const;

  kernels::ContrastiveLossArgs args_;
  Tensor<T> diff_;     ///< a - b
  Tensor<T> dist_sq_;  ///< per pair
  Tensor<T> loss_;     ///< per pair
  Tensor<T> state_;    ///< decoded label per pair
};

}  // namespace crema
