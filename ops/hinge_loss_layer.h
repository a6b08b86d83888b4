/// HingeLossLayer<T>: Caffe's HingeLoss, one-vs-all hinge loss of N x K scores.
#pragma once

#include "core/layer.h"
#include "cuda_kernels/hinge_loss.h"

namespace crema {

/// Bottoms (scores N x K (all axes after the first flattened), labels: N integers in [0, K)).
/// Top the scalar sum over n, k of max(0, 1 - d(l_n = k) x_nk)^p / N with d = +1 for the true
/// class and -1 otherwise (so 1 - x for the true class, 1 + x for the rest); p = 1 for
/// hinge_loss_param.norm L1 (default), 2 for L2. Backward reaches the scores only.
template <class T>
class HingeLossLayer : public Layer<T> {
 public:
  using Layer<T>::Layer;

  const char* type() const override { return "HingeLoss"; }
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

  kernels::HingeLossArgs args_;
  Tensor<T> loss_;   ///< per sample
  Tensor<T> state_;  ///< decoded label per sample
};

}  // namespace crema
