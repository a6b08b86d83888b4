/// DeconvolutionLayer<T>: Caffe's Deconvolution (transposed 2-d convolution: groups, dilation),
/// GEMM + col2im on the CPU.
#pragma once

#include <vector>

#include "core/cudnn_util.h"
#include "core/layer.h"
#include "cuda_kernels/im2col.h"

namespace crema {

/// The adjoint of Convolution: each bottom i (N, C, H, W) maps to top i (N, num_output, OH, OW)
/// with OH = stride * (H - 1) + dilation * (kernel - 1) + 1 - 2 * pad (likewise OW), using shared
/// weights (C, num_output / group, kh, kw) as Caffe stores them, and an optional bias
/// (num_output). A Convolution with the same geometry maps (OH, OW) back to (H, W).
template <class T>
class DeconvolutionLayer : public Layer<T> {
 public:
  explicit DeconvolutionLayer(const LayerParameter& param) : Layer<T>(param) {}

  const char* type() const override { return "Deconvolution"; }
  int min_num_bottom() const override { return 1; }
  int min_num_top() const override { return 1; }
  bool equal_num_bottom_top() const override { return true; }

  void layer_setup(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) override;
  void reshape(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) override;
  bool has_gpu_path() const override { return CREMA_WITH_CUDA != 0; }

 protected:
  void forward_cpu(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) override;
  void backward_cpu(Context& ctx, const TensorVec<T>& top, const std::vector<bool>& propagate_down,
                    const TensorVec<T>& bottom) override;
#if CREMA_WITH_CUDA
  // cuDNN, through the equivalent convolution from top to bottom: forward is its backward-data
  // pass, backward-data its forward pass, and the weight gradient its backward-filter pass with
  // the roles of input and output swapped.
  void forward_gpu(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) override;
  void backward_gpu(Context& ctx, const TensorVec<T>& top, const std::vector<bool>& propagate_down,
                    const TensorVec<T>& bottom) override;
#endif

 private:
  int64_t num_output_ = 0, channels_ = 0, group_ = 1;
  int64_t kernel_h_ = 0, kernel_w_ = 0, pad_h_ = 0, pad_w_ = 0;
  int64_t stride_h_ = 1, stride_w_ = 1, dilation_h_ = 1, dilation_w_ = 1;
  bool bias_term_ = true;
  // im2col geometry of the equivalent convolution over one chunk (args_.num images): its input
  // is this layer's top (num_output, OH, OW), its output this layer's bottom (H, W).
  kernels::Im2colArgs args_{};
  Tensor<T> col_buffer_;  // (num_output * kh * kw) x (chunk * H * W)
  Tensor<T> in_buffer_;   // C x (chunk * H * W): GEMM layout of a bottom chunk (data or diff)
#if CREMA_WITH_CUDA
  // Describes the current shapes to cuDNN (bottoms share one shape, as do tops).
  void set_descriptors(const Tensor<T>& bottom, const Tensor<T>& top);
  cudnn::TensorDesc bottom_desc_, top_desc_, bias_desc_;
  cudnn::FilterDesc filter_desc_;  // (C, num_output / group, kh, kw): the equivalent conv's
  cudnn::ConvDesc conv_desc_;
  cudnn::ConvAlgoCache algos_;
#endif
};

}  // namespace crema
