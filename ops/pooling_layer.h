/// PoolingLayer<T>: Caffe's 2-d MAX and AVE pooling (global pooling, padding, ceil/floor sizes).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/cudnn_util.h"
#include "core/layer.h"
#include "core/synced_memory.h"
#include "cuda_kernels/pooling.h"

namespace crema {

/// Pools each H x W plane of a 4-d bottom (N, C, H, W). MAX pooling may take a second top that
/// receives the argmax index h * W + w of each output, as Caffe's mask top.
template <class T>
class PoolingLayer : public Layer<T> {
 public:
  explicit PoolingLayer(const LayerParameter& param) : Layer<T>(param) {}

  const char* type() const override { return "Pooling"; }
  int exact_num_bottom() const override { return 1; }
  int min_num_top() const override { return 1; }
  int max_num_top() const override {
    return this->layer_param().pooling_param().pool() == PoolingParameter::MAX ? 2 : 1;
  }

  void layer_setup(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) override;
  void reshape(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) override;
  bool has_gpu_path() const override { return CREMA_WITH_CUDA != 0; }
  /// Whether the GPU path runs cuDNN (true) or the kernel bodies of cuda_kernels/pooling.h for
  /// the current shapes; see reshape.
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
  bool max_ = true;  // MAX, else AVE
  bool global_ = false;
  bool floor_ = false;  // round_mode FLOOR
  int64_t kernel_h_ = 0, kernel_w_ = 0, stride_h_ = 1, stride_w_ = 1, pad_h_ = 0, pad_w_ = 0;
  kernels::PoolingArgs args_{};
  std::vector<int32_t> mask_;  // argmax per output (MAX), read by backward
  bool use_cudnn_ = false;     // the GPU path runs cuDNN (set in reshape)
#if CREMA_WITH_CUDA
  void set_descriptors(const Tensor<T>& bottom, const Tensor<T>& top);
  cudnn::TensorDesc bottom_desc_, top_desc_;
  cudnn::PoolingDesc pool_desc_;
  std::unique_ptr<SyncedMemory> gpu_mask_;  // mask_ on the device, for the MAX bodies
#endif
};

}  // namespace crema
