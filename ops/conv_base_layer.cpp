#include "ops/conv_base_layer.h"

#include <memory>

#include "ops/conv_geometry.h"

namespace crema {

template <class T>
void ConvLayerBase<T>::layer_setup(Context& ctx, const TensorVec<T>& bottom,
                                   const TensorVec<T>& top) {
  const ConvolutionParameter& cp = this->layer_param().convolution_param();
  const ConvChannels cc = read_conv_channels(cp, bottom[0]->shape(), this->type());
  const ConvGeometry geom = read_conv_geometry(cp);
  kernel_h_ = geom.kernel_h;
  kernel_w_ = geom.kernel_w;
  stride_h_ = geom.stride_h;
  stride_w_ = geom.stride_w;
  pad_h_ = geom.pad_h;
  pad_w_ = geom.pad_w;
  dilation_h_ = geom.dilation_h;
  dilation_w_ = geom.dilation_w;

  channels_ = cc.channels;
  num_output_ = cc.num_output;
  group_ = cc.group;
  bias_term_ = cc.bias_term;

  const std::vector<int64_t> weight_shape =
      transposed_ ? std::vector<int64_t>{channels_, num_output_ / group_, kernel_h_, kernel_w_}
                  : std::vector<int64_t>{num_output_, channels_ / group_, kernel_h_, kernel_w_};
  this->blobs_.clear();
  this->blobs_.push_back(std::make_shared<Tensor<T>>(weight_shape));
  this->fill_blob(ctx, cp.weight_filler(), 0);
  if (bias_term_) {
    this->blobs_.push_back(std::make_shared<Tensor<T>>(std::vector<int64_t>{num_output_}));
    this->fill_blob(ctx, cp.bias_filler(), 1);
  }
}

template <class T>
void ConvLayerBase<T>::check_bottoms(const TensorVec<T>& bottom, const TensorVec<T>& top) const {
  const Tensor<T>& b0 = *bottom[0];
  CREMA_SHAPE_CHECK(b0.num_axes() == 4, "bottom 0 must be 4-d (N, C, H, W), got ",
                    b0.shape_string());
  CREMA_SHAPE_CHECK(b0.shape(1) == channels_, "bottom 0 has ", b0.shape(1),
                    " channels but the weights were set up for ", channels_, " (shape ",
                    b0.shape_string(), ")");
  for (size_t i = 0; i < bottom.size(); ++i) {
    CREMA_SHAPE_CHECK(bottom[i]->shape() == b0.shape(),
                      "all bottoms must have the same shape: ", "bottom 0 is ", b0.shape_string(),
                      ", bottom ", i, " is ", bottom[i]->shape_string());
    CREMA_LAYER_CHECK(top[i] != bottom[i], "cannot run in place (top ", i, " is bottom ", i,
                      "); give the top its own name");
  }
}

template <class T>
int64_t ConvLayerBase<T>::set_im2col(int64_t in_c, int64_t in_h, int64_t in_w, int64_t out_h,
                                     int64_t out_w, int64_t num) {
  args_ = {in_c,      in_h,      in_w,        kernel_h_,   kernel_w_, pad_h_, pad_w_,
           stride_h_, stride_w_, dilation_h_, dilation_w_, out_h,     out_w,  1};
  const int64_t rows = in_c * kernel_h_ * kernel_w_;
  args_.num = conv_chunk_size(rows * out_h * out_w, num);
  const int64_t cols = args_.num * out_h * out_w;
  col_buffer_.reshape({rows, cols});
  return cols;
}

#if CREMA_WITH_CUDA
template <class T>
void ConvLayerBase<T>::set_descriptors(const Tensor<T>& bottom, const Tensor<T>& top) {
  bottom_desc_.set_4d<T>(bottom.shape(0), channels_, bottom.shape(2), bottom.shape(3));
  top_desc_.set_4d<T>(top.shape(0), num_output_, top.shape(2), top.shape(3));
  const int64_t filter_out = transposed_ ? channels_ : num_output_;
  const int64_t filter_in = transposed_ ? num_output_ / group_ : channels_ / group_;
  filter_desc_.set<T>(filter_out, filter_in, kernel_h_, kernel_w_);
  conv_desc_.set<T>(pad_h_, pad_w_, stride_h_, stride_w_, dilation_h_, dilation_w_, group_);
  if (bias_term_) bias_desc_.set_4d<T>(1, num_output_, 1, 1);
}

template <class T>
void ConvLayerBase<T>::forward_gpu(Context& ctx, const TensorVec<T>& bottom,
                                   const TensorVec<T>& top) {
  if (bottom[0]->count() == 0) return;  // cuDNN rejects empty tensors; the tops are empty too
  set_descriptors(*bottom[0], *top[0]);
  const T* weight = this->blobs_[0]->gpu_data(ctx);
  for (size_t b = 0; b < bottom.size(); ++b) {
    const T* x = bottom[b]->gpu_data(ctx);
    T* y = top[b]->mutable_gpu_data(ctx);
    // A deconvolution's forward is E's backward-data pass (its input lies on E's output side).
    if (transposed_)
      cudnn::conv_backward_data<T>(ctx, algos_, filter_desc_, weight, bottom_desc_, x, conv_desc_,
                                   top_desc_, y, T(0));
    else
      cudnn::conv_forward<T>(ctx, algos_, bottom_desc_, x, filter_desc_, weight, conv_desc_,
                             top_desc_, y, T(0));
    if (bias_term_)
      cudnn::add_bias<T>(ctx, bias_desc_, this->blobs_[1]->gpu_data(ctx), top_desc_, y);
  }
}

template <class T>
void ConvLayerBase<T>::backward_gpu(Context& ctx, const TensorVec<T>& top,
                                    const std::vector<bool>& propagate_down,
                                    const TensorVec<T>& bottom) {
  if (bottom[0]->count() == 0) return;
  set_descriptors(*bottom[0], *top[0]);
  const bool weight_down = this->param_propagate_down(0);
  const bool bias_down = bias_term_ && this->param_propagate_down(1);
  for (size_t b = 0; b < bottom.size(); ++b) {
    const T* x = bottom[b]->gpu_data(ctx);
    const T* dy = top[b]->gpu_diff(ctx);
    // Parameter diffs accumulate over bottoms and calls (beta = 1); the bottom diff is
    // written (beta = 0).
    if (bias_down)
      cudnn::accumulate_bias_grad<T>(ctx, top_desc_, dy, bias_desc_,
                                     this->blobs_[1]->mutable_gpu_diff(ctx));
    // dW = corr(E's input, E's output gradient): (x, dy) for a convolution, (dy, x) for a
    // deconvolution.
    if (weight_down) {
      T* dw = this->blobs_[0]->mutable_gpu_diff(ctx);
      if (transposed_)
        cudnn::conv_backward_filter<T>(ctx, algos_, top_desc_, dy, bottom_desc_, x, conv_desc_,
                                       filter_desc_, dw, T(1));
      else
        cudnn::conv_backward_filter<T>(ctx, algos_, bottom_desc_, x, top_desc_, dy, conv_desc_,
                                       filter_desc_, dw, T(1));
    }
    if (propagate_down[b]) {
      const T* weight = this->blobs_[0]->gpu_data(ctx);
      T* dx = bottom[b]->mutable_gpu_diff(ctx);
      if (transposed_)
        cudnn::conv_forward<T>(ctx, algos_, top_desc_, dy, filter_desc_, weight, conv_desc_,
                               bottom_desc_, dx, T(0));
      else
        cudnn::conv_backward_data<T>(ctx, algos_, filter_desc_, weight, top_desc_, dy, conv_desc_,
                                     bottom_desc_, dx, T(0));
    }
  }
}
#endif

CREMA_INSTANTIATE_CLASS(ConvLayerBase);

}  // namespace crema
