/// MultinomialLogisticLossLayer<T>: Caffe's MultinomialLogisticLoss on probabilities.
#pragma once

#include "core/layer.h"
#include "cuda_kernels/multinomial_logistic_loss.h"

namespace crema {

/// Bottoms (probabilities N x K (axes after the first flattened), labels: N integers in
/// [0, K)); top the scalar -sum_n log(max(p[n, label_n], 1e-20)) / N. Backward reaches the
/// probabilities only: -1 / (N max(p, 1e-20)) at the true class.
template <class T>
class MultinomialLogisticLossLayer : public Layer<T> {
 public:
  using Layer<T>::Layer;

  const char* type() const override { return "MultinomialLogisticLoss"; }
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
  /// The host half of forward, after the per-sample body ran (on either device): checks the
  /// labels, sums the sample losses in a fixed order and writes the top.
  void finish_forward(const TensorVec<T>& bottom, const TensorVec<T>& top);
  /// The host half of backward on either device: rejects a gradient for the labels and returns
  /// the loss weight over N.
  T backward_scale(const TensorVec<T>& top, const std::vector<bool>& propagate_down) const;

  kernels::MultinomialLogisticLossArgs args_;
  Tensor<T> loss_;   ///< per sample
  Tensor<T> state_;  ///< decoded label per sample
};

}  // namespace crema
