/// ConvolutionLayer<T>: Caffe's 2-d convolution (groups, dilation), im2col + GEMM on the CPU.
#pragma once

#include <vector>

#include "core/cudnn_util.h"
#include "core/layer.h"
#include "cuda_kernels/im2col.h"

namespace crema {

/// Convolves each bottom i into top i with shared weights (num_output, C / group, kh, kw) and
/// an optional bias (num_output). Bottoms are 4-d (N, C, H, W); all must have the same shape.
template <class T>
class ConvolutionLayer : public Layer<T> {
 public:
  explicit ConvolutionLayer(const LayerParameter& param) : Layer<T>(param) {}

  const char* type() const override { return "Convolution"; }
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
  // cuDNN: one grouped convolution per bottom (no im2col), cudnnAddTensor for the bias.
  void forward_gpu(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) override;
  void backward_gpu(Context& ctx, const TensorVec<T>& top, const std::vector<bool>& propagate_down,
                    const TensorVec<T>& bottom) override;
#endif

 private:
  int64_t num_output_ = 0, channels_ = 0, group_ = 1;
  int64_t kernel_h_ = 0, kernel_w_ = 0, pad_h_ = 0, pad_w_ = 0;
  int64_t stride_h_ = 1, stride_w_ = 1, dilation_h_ = 1, dilation_w_ = 1;
  bool bias_term_ = true;
  kernels::Im2colArgs args_{};  // geometry of one chunk (args_.num images)
  Tensor<T> col_buffer_;        // (C * kh * kw) x (chunk * out_h * out_w)
  Tensor<T> out_buffer_;        // num_output x (chunk * out_h * out_w): GEMM layout of a chunk
  Tensor<T> bias_multiplier_;   // ones(chunk * out_h * out_w)
#if CREMA_WITH_CUDA
  // Describes the current shapes to cuDNN (bottoms share one shape, as do tops).
  void set_descriptors(const Tensor<T>& bottom, const Tensor<T>& top);
  cudnn::TensorDesc bottom_desc_, top_desc_, bias_desc_;
  cudnn::FilterDesc filter_desc_;
  cudnn::ConvDesc conv_desc_;
  cudnn::ConvAlgoCache algos_;
#endif
};

}  // namespace crema
