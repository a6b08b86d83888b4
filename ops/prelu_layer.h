/// PReLULayer<T>: Caffe's PReLU, y = max(x, 0) + a_c * min(x, 0) with learnable slopes a.
#pragma once

#include <vector>

#include "core/layer.h"
#include "cuda_kernels/bias.h"
#include "cuda_kernels/prelu.h"

namespace crema {

/// blobs()[0] holds the slopes: one per channel (axis 1), or a scalar when channel_shared.
/// In-place, forward keeps a copy of the input for backward, as Caffe does.
template <class T>
class PReLULayer : public Layer<T> {
 public:
  using Layer<T>::Layer;

  const char* type() const override { return "PReLU"; }
  int exact_num_bottom() const override { return 1; }
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
  bool channel_shared_ = false;
  kernels::PReluArgs args_{};
  // The slope diff's reduction of slope_partial_ through the bias-gradient body: one row of
  // `channels` summed into slope 0 when shared, else one element per channel.
  kernels::BroadcastArgs slope_sum_{};
  Tensor<T> bottom_copy_;    // the input, when in-place
  Tensor<T> slope_partial_;  // per-channel slope gradients before the shared sum
};

}  // namespace crema
