/// EuclideanLossLayer: Caffe's EuclideanLoss, sum (a - b)^2 / (2N).
#pragma once

#include "core/layer.h"
#include "cuda_kernels/euclidean_loss.h"

namespace crema {

/// Bottoms a, b with equal counts and equal first dimension N; top the scalar
/// sum (a - b)^2 / (2N). Backward reaches both bottoms (+ for a, - for b).
template <class T>
class EuclideanLossLayer : public Layer<T> {
 public:
  explicit EuclideanLossLayer(const LayerParameter& param) : Layer<T>(param) {}

  const char* type() const override { return "EuclideanLoss"; }
  int exact_num_bottom() const override { return 2; }
  int exact_num_top() const override { return 1; }

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
  /// The loss weight over N, the gradient's scale for bottom 0 (its negative for bottom 1).
  T backward_weight(const TensorVec<T>& top) const;

  /// Elements per forward work item: large enough to amortize a thread, fixed so the sum's
  /// rounding does not depend on the thread count.
  static constexpr int64_t kBlock = 1 << 14;

  kernels::EuclideanLossArgs args_;
  int64_t num_ = 1;  ///< N, the normalizer's batch size
  Tensor<T> diff_;
  Tensor<double> partial_;
};

}  // namespace crema
