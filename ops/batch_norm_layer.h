/// BatchNormLayer<T>: Caffe's BatchNorm: per-channel normalization by batch statistics (TRAIN)
/// or by stored running statistics (use_global_stats); no scale/shift (follow with Scale).
#pragma once

#include <vector>

#include "core/comm.h"
#include "core/cudnn_util.h"
#include "core/layer.h"
#include "cuda_kernels/batch_norm.h"

namespace crema {

/// y = (x - mean) / sqrt(var + eps) per channel (axis 1) over a bottom of shape (N, C, ...).
/// Blobs, as Caffe: [0] running mean sum (C), [1] running variance sum (C), [2] their common
/// scale factor (1); the statistics are sums / factor. The blobs are not learned: lr_mult is
/// forced to 0. May run in place.
template <class T>
class BatchNormLayer : public Layer<T> {
 public:
  using Layer<T>::Layer;

  const char* type() const override { return "BatchNorm"; }
  int exact_num_bottom() const override { return 1; }
  int exact_num_top() const override { return 1; }

  void layer_setup(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) override;
  void reshape(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) override;

  bool use_global_stats() const { return use_global_stats_; }
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
  /// Batch statistics over every rank of ctx.comm (sync: true); fills mean_ and var_ and
  /// returns the number of elements per channel in all.
  double sync_stats(Context& ctx, const T* x);
  /// Sums sum_dy_ and sum_dy_xnorm_ over the ranks (on the host), scaled for the backward body.
  void sync_backward_sums(Context& ctx);
  /// Caffe's running sums after a batch-statistics forward of m elements per channel: the
  /// factor (host) and the variance correction m / (m - 1).
  T update_factor(double m);
  bool synced(const Context& ctx) const {
    return sync_ && !use_global_stats_ && ctx.comm && ctx.comm->multi();
  }

  bool use_global_stats_ = false;
  bool sync_ = false;
  double sync_count_ = 0;  // elements per channel over all ranks, of the last synced forward
  T moving_average_fraction_ = T(0.999);
  T eps_ = T(1e-5);
  int64_t channels_ = 0;
  kernels::BatchNormArgs args_{};
  Tensor<T> mean_, var_, inv_std_;   // (C) statistics of the last forward
  Tensor<T> sum_dy_, sum_dy_xnorm_;  // (C) backward sums
  Tensor<T> x_norm_;                 // normalized input of the last batch-statistics forward
#if CREMA_WITH_CUDA
  /// Whether cuDNN computes this forward's batch statistics: not SyncBN (its sums go over MPI on
  /// the host) and more than one element per channel (cuDNN's unbiased variance divides by m - 1).
  bool cudnn_batch_stats(const Context& ctx) const;
  cudnn::TensorDesc x_desc_, bn_desc_;
  bool cudnn_trained_ = false;    // the last forward ran cuDNN's training pass
  Tensor<T> bn_scale_, bn_bias_;  // (C) ones and zeros: Caffe's BatchNorm has no affine part
  Tensor<T> save_mean_;           // (C) cuDNN's saved batch mean
  Tensor<T> dscale_, dbias_;      // (C) cuDNN's affine gradients, unused
  Tensor<T> x_saved_, dy_copy_;   // the forward's input; dy when backward runs in place
#endif
};

}  // namespace crema
