/// AccuracyLayer: Caffe's Accuracy, the fraction of positions whose label is in the top k.
#pragma once

#include "core/layer.h"
#include "cuda_kernels/accuracy.h"

namespace crema {

/// Bottoms (scores, labels); top 0 the scalar accuracy over positions whose label is not
/// ignore_label (0 when there are none), optional top 1 the accuracy per class (0 for a class
/// with no labels). accuracy_param: top_k (default 1), axis (the class axis, default 1),
/// ignore_label. A position counts when fewer than top_k other classes score >= its label's
/// score (Caffe's rule, ties count against it). Has no gradient.
template <class T>
class AccuracyLayer : public Layer<T> {
 public:
  explicit AccuracyLayer(const LayerParameter& param) : Layer<T>(param) {}

  const char* type() const override { return "Accuracy"; }
  int exact_num_bottom() const override { return 2; }
  int min_num_top() const override { return 1; }
  int max_num_top() const override { return 2; }
  bool allow_force_backward(int bottom_index) const override { return false; }

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
                    const TensorVec<T>& bottom) override {
    backward_cpu(ctx, top, propagate_down, bottom);  // only its error: there is no gradient
  }
#endif

 private:
  /// The host half of forward, after the per-position body ran (on either device): checks the
  /// labels and counts the hits, overall and per class.
  void finish_forward(const TensorVec<T>& bottom, const TensorVec<T>& top);
  int axis_ = 1;
  kernels::AccuracyArgs args_;
  Tensor<T> hit_;    ///< 1 where the label is in the top k
  Tensor<T> state_;  ///< decoded label per position (see decode_label)
};

}  // namespace crema
