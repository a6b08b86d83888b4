/// BNLayer<T>: the "BN" layer of the yjxiong/caffe fork (TSN, UntrimmedNet, GBD-Net, OFF):
/// batch normalization with a built-in per-channel scale and shift and a `frozen` mode.
#pragma once

#include <vector>

#include "core/layer.h"
#include "cuda_kernels/batch_norm.h"

namespace crema {

/// y = scale * (x - mean) / sqrt(var + eps) + shift per channel (axis 1) of a bottom
/// (N, C, ...). Blobs as in the fork, each of shape (1, C): [0] scale (slope), [1] shift (bias),
/// [2] running mean, [3] running variance (the variance, not the std).
///   TRAIN, not frozen: batch mean and biased variance over N and the spatial axes;
///     running = momentum * running + (1 - momentum) * batch.
///   TEST or frozen: the running statistics, left unchanged.
/// frozen also freezes scale and shift (lr_mult forced to 0, no gradient), as the fork does.
/// May run in place.
template <class T>
class BNLayer : public Layer<T> {
 public:
  using Layer<T>::Layer;

  const char* type() const override { return "BN"; }
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
  // Launchers of the same per-channel and per-row bodies; cuBLAS axpy for the parameter diffs.
  void forward_gpu(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) override;
  void backward_gpu(Context& ctx, const TensorVec<T>& top, const std::vector<bool>& propagate_down,
                    const TensorVec<T>& bottom) override;
#endif

 private:
  // True when the running statistics normalize (TEST phase or frozen).
  bool use_running() const { return frozen_ || this->phase() == TEST; }

  bool frozen_ = false;
  T momentum_ = T(0.9);
  T eps_ = T(1e-5);
  int64_t channels_ = 0;
  kernels::BatchNormArgs args_{};
  Tensor<T> mean_, var_, inv_std_;   // (C) statistics used by the last forward
  Tensor<T> gain_, bias_;            // (C) folded affine map: y = gain * x + bias
  Tensor<T> sum_dy_, sum_dy_xnorm_;  // (C) backward sums
  Tensor<T> x_norm_;                 // normalized input of the last forward (not frozen)
};

}  // namespace crema
