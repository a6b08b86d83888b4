/// LRNLayer<T>: Caffe's local response normalization, ACROSS_CHANNELS or WITHIN_CHANNEL.
#pragma once

#include <vector>

#include "core/cudnn_util.h"
#include "core/layer.h"
#include "cuda_kernels/lrn.h"

namespace crema {

/// y = x * s^-beta over a 4-d bottom (N, C, H, W), local_size odd:
///   ACROSS_CHANNELS: s = k + alpha / local_size * (sum of x^2 over local_size channels centred
///                    on x, zero beyond the first and last channel);
///   WITHIN_CHANNEL:  s = 1 + alpha * (average of x^2 over a local_size x local_size square
///                    centred on x, zero-padded; the divisor is always local_size^2). k is not
///                    used, as in Caffe (which builds this from Power and AVE Pooling layers;
///                    here it is computed directly). Never in-place.
template <class T>
class LRNLayer : public Layer<T> {
 public:
  using Layer<T>::Layer;

  const char* type() const override { return "LRN"; }
  int exact_num_bottom() const override { return 1; }
  int exact_num_top() const override { return 1; }

  void layer_setup(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) override;
  void reshape(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) override;
  bool has_gpu_path() const override { return CREMA_WITH_CUDA != 0; }
  /// Whether the GPU path runs cuDNN (true) or the kernel bodies of cuda_kernels/lrn.h; see
  /// layer_setup.
  bool gpu_uses_cudnn() const { return use_cudnn_; }

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
  bool across_ = true;
  kernels::LrnArgs<T> args_{};
  Tensor<T> scale_;  // s per element, kept for backward (CPU and kernel-body paths)
  bool use_cudnn_ = false;
  int64_t local_size_ = 0;
  double alpha_ = 0, beta_ = 0, k_ = 0;
#if CREMA_WITH_CUDA
  cudnn::TensorDesc desc_;
  cudnn::LrnDesc lrn_desc_;
#endif
};

}  // namespace crema
