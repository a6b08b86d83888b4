/// DeconvolutionLayer<T>: Caffe's Deconvolution (transposed 2-d convolution: groups, dilation),
/// GEMM + col2im on the CPU.
#pragma once

#include <vector>

#include "ops/conv_base_layer.h"

namespace crema {

/// The adjoint of Convolution: each bottom i (N, C, H, W) maps to top i (N, num_output, OH, OW)
/// with OH = stride * (H - 1) + dilation * (kernel - 1) + 1 - 2 * pad (likewise OW), using shared
/// weights (C, num_output / group, kh, kw) as Caffe stores them, and an optional bias
/// (num_output). A Convolution with the same geometry maps (OH, OW) back to (H, W).
template <class T>
class DeconvolutionLayer : public ConvLayerBase<T> {
 public:
  explicit DeconvolutionLayer(const LayerParameter& param) : ConvLayerBase<T>(param, true) {}

  const char* type() const override { return "Deconvolution"; }

  void reshape(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) override;

 protected:
  void forward_cpu(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) override;
  void backward_cpu(Context& ctx, const TensorVec<T>& top, const std::vector<bool>& propagate_down,
                    const TensorVec<T>& bottom) override;

 private:
  Tensor<T> in_buffer_;  // C x (chunk * H * W): GEMM layout of a bottom chunk (data or diff)
};

}  // namespace crema
