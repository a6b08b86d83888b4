/// ConvLayerBase<T>: what Convolution and Deconvolution share: reading ConvolutionParameter,
/// the weights and bias, the bottom checks, and the cuDNN GPU path. Each is one convolution E
/// read in one of two directions: Convolution runs E from bottom to top, Deconvolution (its
/// adjoint) from top to bottom, so on the GPU each pass of one is a different cuDNN pass of E.
#pragma once

#include <vector>

#include "core/cudnn_util.h"
#include "core/layer.h"
#include "cuda_kernels/im2col.h"

namespace crema {

template <class T>
class ConvLayerBase : public Layer<T> {
 public:
  /// transposed: false for Convolution, true for Deconvolution.
  ConvLayerBase(const LayerParameter& param, bool transposed)
      : Layer<T>(param), transposed_(transposed) {}

  int min_num_bottom() const override { return 1; }
  int min_num_top() const override { return 1; }
  bool equal_num_bottom_top() const override { return true; }

  /// Reads the parameters and creates the weights, (num_output, C / group, kh, kw) for a
  /// convolution and (C, num_output / group, kh, kw) for a deconvolution as Caffe stores them,
  /// and the bias (num_output).
  void layer_setup(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) override;
  bool has_gpu_path() const override { return CREMA_WITH_CUDA != 0; }

 protected:
  /// Checks that the bottoms are 4-d with the set-up channel count, share one shape, and are
  /// not their tops.
  void check_bottoms(const TensorVec<T>& bottom, const TensorVec<T>& top) const;
  /// Sets args_ to E's im2col geometry, from an in_c x in_h x in_w input to out_h x out_w, over
  /// chunks of images out of `num`, and sizes col_buffer_; returns the columns of one chunk.
  int64_t set_im2col(int64_t in_c, int64_t in_h, int64_t in_w, int64_t out_h, int64_t out_w,
                     int64_t num);

#if CREMA_WITH_CUDA
  // cuDNN: one grouped convolution per bottom (no im2col), cudnnAddTensor for the bias.
  void forward_gpu(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) override;
  void backward_gpu(Context& ctx, const TensorVec<T>& top, const std::vector<bool>& propagate_down,
                    const TensorVec<T>& bottom) override;
#endif

  const bool transposed_;
  int64_t num_output_ = 0, channels_ = 0, group_ = 1;
  int64_t kernel_h_ = 0, kernel_w_ = 0, pad_h_ = 0, pad_w_ = 0;
  int64_t stride_h_ = 1, stride_w_ = 1, dilation_h_ = 1, dilation_w_ = 1;
  bool bias_term_ = true;
  kernels::Im2colArgs args_{};  // im2col geometry of E over one chunk (args_.num images)
  Tensor<T> col_buffer_;        // im2col columns of a chunk

#if CREMA_WITH_CUDA
 private:
  // Describes the current shapes to cuDNN (bottoms share one shape, as do tops).
  void set_descriptors(const Tensor<T>& bottom, const Tensor<T>& top);
  cudnn::TensorDesc bottom_desc_, top_desc_, bias_desc_;
  cudnn::FilterDesc filter_desc_;  // E's filter: the weights as stored
  cudnn::ConvDesc conv_desc_;
  cudnn::ConvAlgoCache algos_;
#endif
};

}  // namespace crema
