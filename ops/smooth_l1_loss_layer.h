/// SmoothL1LossLayer<T>: Fast R-CNN's SmoothL1Loss with inside and outside weights.
#pragma once

#include "core/layer.h"
#include "cuda_kernels/smooth_l1_loss.h"

namespace crema {

/// Bottoms (a, b) or (a, b, inside weights, outside weights), all of one shape with first
/// dimension N. Top the scalar sum w_out * f(w_in * (a - b)) / N, f(d) = 0.5 (sigma d)^2 for
/// |d| < 1 / sigma^2 and |d| - 0.5 / sigma^2 otherwise; smooth_l1_loss_param.sigma (default 1,
/// > 0). Backward reaches a and b; the weights take no gradient.
template <class T>
class SmoothL1LossLayer : public Layer<T> {
 public:
  using Layer<T>::Layer;

  const char* type() const override { return "SmoothL1Loss"; }
  int min_num_bottom() const override { return 2; }
  int max_num_bottom() const override { return 4; }
  int exact_num_top() const override { return 1; }
  bool allow_force_backward(int bottom_index) const override { return bottom_index < 2; }

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
  /// partials in order and writes the top.
  void finish_forward(const TensorVec<T>& top);
  /// The host half of backward on either device: rejects gradients for the weights and returns
  /// the loss weight over N.
  T backward_weight(const TensorVec<T>& top, const std::vector<bool>& propagate_down,
                    const TensorVec<T>& bottom) const;

  /// Elements per forward work item; fixed so the sum does not depend on the thread count.
  static constexpr int64_t kBlock = 1 << 14;

  kernels::SmoothL1LossArgs args_;
  int64_t num_ = 1;  ///< N
  Tensor<double> partial_;
};

}  // namespace crema
