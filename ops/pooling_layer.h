/// PoolingLayer<T>: Caffe's 2-d MAX and AVE pooling (global pooling, padding, ceil/floor sizes).
#pragma once

#include <cstdint>
#include <vector>

#include "core/layer.h"
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

 protected:
  void forward_cpu(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) override;
  void backward_cpu(Context& ctx, const TensorVec<T>& top, const std::vector<bool>& propagate_down,
                    const TensorVec<T>& bottom) override;

 private:
  bool max_ = true;  // MAX, else AVE
  bool global_ = false;
  bool floor_ = false;  // round_mode FLOOR
  int64_t kernel_h_ = 0, kernel_w_ = 0, stride_h_ = 1, stride_w_ = 1, pad_h_ = 0, pad_w_ = 0;
  kernels::PoolingArgs args_{};
  std::vector<int32_t> mask_;  // argmax per output (MAX), read by backward
};

}  // namespace crema
