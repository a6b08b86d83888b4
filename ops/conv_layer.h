/// ConvolutionLayer<T>: Caffe's 2-d convolution (groups, dilation), im2col + GEMM on the CPU.
#pragma once

#include <vector>

#include "ops/conv_base_layer.h"

namespace crema {

/// Convolves each bottom i into top i with shared weights (num_output, C / group, kh, kw) and
/// an optional bias (num_output). Bottoms are 4-d (N, C, H, W); all must have the same shape.
template <class T>
class ConvolutionLayer : public ConvLayerBase<T> {
 public:
  explicit ConvolutionLayer(const LayerParameter& param) : ConvLayerBase<T>(param, false) {}

  const char* type() const override { return "Convolution"; }

  void reshape(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) override;

 protected:
  void forward_cpu(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) override;
  void backward_cpu(Context& ctx, const TensorVec<T>& top, const std::vector<bool>& propagate_down,
                    const TensorVec<T>& bottom) override;

 private:
  Tensor<T> out_buffer_;       // num_output x (chunk * out_h * out_w): GEMM layout of a chunk
  Tensor<T> bias_multiplier_;  // ones(chunk * out_h * out_w)
};

}  // namespace crema
