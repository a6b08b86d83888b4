#include "ops/conv_layer.h"

#include <algorithm>
#include <memory>

#include "core/blas.h"
#include "core/parallel.h"
#include "ops/conv_geometry.h"

namespace crema {

template <class T>
void ConvolutionLayer<T>::layer_setup(Context& ctx, const TensorVec<T>& bottom,
                                      const TensorVec<T>& top) {
  const ConvolutionParameter& cp = this->layer_param().convolution_param();
  const ConvChannels cc = read_conv_channels(cp, bottom[0]->shape(), "Convolution");
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

  this->blobs_.clear();
  this->blobs_.push_back(std::make_shared<Tensor<T>>(
      std::vector<int64_t>{num_output_, channels_ / group_, kernel_h_, kernel_w_}));
  this->fill_blob(ctx, cp.weight_filler(), 0);
  if (bias_term_) {
    this->blobs_.push_back(std::make_shared<Tensor<T>>(std::vector<int64_t>{num_output_}));
    this->fill_blob(ctx, cp.bias_filler(), 1);
  }
}

template <class T>
void ConvolutionLayer<T>::reshape(Context& ctx, const TensorVec<T>& bottom,
                                  const TensorVec<T>& top) {
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
  const int64_t height = b0.shape(2), width = b0.shape(3);
  const int64_t ext_h = dilation_h_ * (kernel_h_ - 1) + 1;
  const int64_t ext_w = dilation_w_ * (kernel_w_ - 1) + 1;
  CREMA_SHAPE_CHECK(height + 2 * pad_h_ >= ext_h && width + 2 * pad_w_ >= ext_w, "input HxW ",
                    height, "x", width, " too small for kernel ", kernel_h_, "x", kernel_w_,
                    " (dilated extent ", ext_h, "x", ext_w, ") with pad ", pad_h_, "x", pad_w_,
                    "; need H + 2 * pad >= dilation * (kernel - 1) + 1");
  const int64_t out_h = (height + 2 * pad_h_ - ext_h) / stride_h_ + 1;
  const int64_t out_w = (width + 2 * pad_w_ - ext_w) / stride_w_ + 1;
  for (auto* t : top) t->reshape({b0.shape(0), num_output_, out_h, out_w});
  args_ = {channels_, height,    width,       kernel_h_,   kernel_w_, pad_h_, pad_w_,
           stride_h_, stride_w_, dilation_h_, dilation_w_, out_h,     out_w,  1};
  args_.num = conv_chunk_size(channels_ * kernel_h_ * kernel_w_ * out_h * out_w, b0.shape(0));
  const int64_t cols = args_.num * out_h * out_w;
  col_buffer_.reshape({channels_ * kernel_h_ * kernel_w_, cols});
  out_buffer_.reshape({num_output_, cols});
  if (bias_term_) {
    bias_multiplier_.reshape({cols});
    bias_multiplier_.set_data(T(1));
  }
}

template <class T>
void ConvolutionLayer<T>::forward_cpu(Context& ctx, const TensorVec<T>& bottom,
                                      const TensorVec<T>& top) {
  const T* weight = this->blobs_[0]->cpu_data();
  const int64_t m = num_output_ / group_;                        // outputs per group
  const int64_t k = channels_ / group_ * kernel_h_ * kernel_w_;  // column rows per group
  const int64_t p = args_.out_h * args_.out_w;
  const int64_t in_dim = channels_ * args_.height * args_.width;
  const int64_t out_dim = num_output_ * p;
  const int64_t rows = channels_ * kernel_h_ * kernel_w_;
  for (size_t b = 0; b < bottom.size(); ++b) {
    const T* x = bottom[b]->cpu_data();
    T* y = top[b]->mutable_cpu_data();
    const int64_t num = bottom[b]->shape(0);
    for (int64_t n0 = 0; n0 < num; n0 += args_.num) {
      kernels::Im2colArgs a = args_;
      a.num = std::min(args_.num, num - n0);
      const int64_t cols = a.num * p, o = num_output_, imgs = a.num;
      const T* xc = x + n0 * in_dim;
      T* col = col_buffer_.mutable_cpu_data();
      T* out = out_buffer_.mutable_cpu_data();
      parallel_for(ctx, rows * a.num * a.out_h,
                   [&](int64_t i) { kernels::im2col_forward(i, a, xc, col); });
      // Column rows of group g are rows [g * k, (g + 1) * k), each of length cols.
      for (int64_t g = 0; g < group_; ++g)
        blas::gemm<T>(false, false, m, cols, k, T(1), weight + g * m * k, col + g * k * cols, T(0),
                      out + g * m * cols);
      if (bias_term_)
        blas::gemm<T>(false, false, num_output_, cols, 1, T(1), this->blobs_[1]->cpu_data(),
                      bias_multiplier_.cpu_data(), T(1), out);
      // (num_output, images, p) -> (images, num_output, p)
      T* yc = y + n0 * out_dim;
      parallel_for(ctx, imgs * out_dim,
                   [&](int64_t i) { kernels::swap_leading_axes(i, o, imgs, p, out, yc); });
    }
  }
}

template <class T>
void ConvolutionLayer<T>::backward_cpu(Context& ctx, const TensorVec<T>& top,
                                       const std::vector<bool>& propagate_down,
                                       const TensorVec<T>& bottom) {
  const T* weight = this->blobs_[0]->cpu_data();
  const int64_t m = num_output_ / group_;
  const int64_t k = channels_ / group_ * kernel_h_ * kernel_w_;
  const int64_t p = args_.out_h * args_.out_w;
  const int64_t in_dim = channels_ * args_.height * args_.width;
  const int64_t out_dim = num_output_ * p;
  const int64_t rows = channels_ * kernel_h_ * kernel_w_;
  const bool weight_down = this->param_propagate_down(0);
  const bool bias_down = bias_term_ && this->param_propagate_down(1);
  for (size_t b = 0; b < bottom.size(); ++b) {
    if (!weight_down && !bias_down && !propagate_down[b]) continue;
    const T* x = bottom[b]->cpu_data();
    const T* dy = top[b]->cpu_diff();
    const int64_t num = bottom[b]->shape(0);
    for (int64_t n0 = 0; n0 < num; n0 += args_.num) {
      kernels::Im2colArgs a = args_;
      a.num = std::min(args_.num, num - n0);
      const int64_t cols = a.num * p, o = num_output_, imgs = a.num;
      // (images, num_output, p) -> (num_output, images, p): the GEMM layout of the top diff.
      T* dyb = out_buffer_.mutable_cpu_data();
      const T* dyc = dy + n0 * out_dim;
      parallel_for(ctx, imgs * out_dim,
                   [&](int64_t i) { kernels::swap_leading_axes(i, imgs, o, p, dyc, dyb); });
      if (bias_down)
        blas::gemv<T>(false, num_output_, cols, T(1), dyb, bias_multiplier_.cpu_data(), T(1),
                      this->blobs_[1]->mutable_cpu_diff());
      T* col = col_buffer_.mutable_cpu_data();
      if (weight_down) {
        const T* xc = x + n0 * in_dim;
        parallel_for(ctx, rows * a.num * a.out_h,
                     [&](int64_t i) { kernels::im2col_forward(i, a, xc, col); });
        T* weight_diff = this->blobs_[0]->mutable_cpu_diff();
        for (int64_t g = 0; g < group_; ++g)
          blas::gemm<T>(false, true, m, k, cols, T(1), dyb + g * m * cols, col + g * k * cols, T(1),
                        weight_diff + g * m * k);
      }
      if (propagate_down[b]) {
        for (int64_t g = 0; g < group_; ++g)
          blas::gemm<T>(true, false, k, cols, m, T(1), weight + g * m * k, dyb + g * m * cols, T(0),
                        col + g * k * cols);
        T* dx = bottom[b]->mutable_cpu_diff() + n0 * in_dim;
        parallel_for(ctx, imgs * channels_ * args_.height,
                     [&](int64_t i) { kernels::im2col_backward(i, a, col, dx); });
      }
    }
  }
}

#if CREMA_WITH_CUDA
template <class T>
void ConvolutionLayer<T>::set_descriptors(const Tensor<T>& bottom, const Tensor<T>& top) {
  bottom_desc_.set_4d<T>(bottom.shape(0), channels_, args_.height, args_.width);
  top_desc_.set_4d<T>(top.shape(0), num_output_, args_.out_h, args_.out_w);
  filter_desc_.set<T>(num_output_, channels_ / group_, kernel_h_, kernel_w_);
  conv_desc_.set<T>(pad_h_, pad_w_, stride_h_, stride_w_, dilation_h_, dilation_w_, group_);
  if (bias_term_) bias_desc_.set_4d<T>(1, num_output_, 1, 1);
}

template <class T>
void ConvolutionLayer<T>::forward_gpu(Context& ctx, const TensorVec<T>& bottom,
                                      const TensorVec<T>& top) {
  if (bottom[0]->count() == 0) return;  // cuDNN rejects empty tensors; the tops are empty too
  set_descriptors(*bottom[0], *top[0]);
  const T* weight = this->blobs_[0]->gpu_data(ctx);
  for (size_t b = 0; b < bottom.size(); ++b) {
    T* y = top[b]->mutable_gpu_data(ctx);
    cudnn::conv_forward<T>(ctx, algos_, bottom_desc_, bottom[b]->gpu_data(ctx), filter_desc_,
                           weight, conv_desc_, top_desc_, y, T(0));
    if (bias_term_)
      cudnn::add_bias<T>(ctx, bias_desc_, this->blobs_[1]->gpu_data(ctx), top_desc_, y);
  }
}

template <class T>
void ConvolutionLayer<T>::backward_gpu(Context& ctx, const TensorVec<T>& top,
                                       const std::vector<bool>& propagate_down,
                                       const TensorVec<T>& bottom) {
  if (bottom[0]->count() == 0) return;
  set_descriptors(*bottom[0], *top[0]);
  const bool weight_down = this->param_propagate_down(0);
  const bool bias_down = bias_term_ && this->param_propagate_down(1);
  for (size_t b = 0; b < bottom.size(); ++b) {
    const T* dy = top[b]->gpu_diff(ctx);
    // Parameter diffs accumulate over bottoms and calls (beta = 1); the bottom diff is
    // written (beta = 0).
    if (bias_down)
      cudnn::accumulate_bias_grad<T>(ctx, top_desc_, dy, bias_desc_,
                                     this->blobs_[1]->mutable_gpu_diff(ctx));
    if (weight_down)
      cudnn::conv_backward_filter<T>(ctx, algos_, bottom_desc_, bottom[b]->gpu_data(ctx), top_desc_,
                                     dy, conv_desc_, filter_desc_,
                                     this->blobs_[0]->mutable_gpu_diff(ctx), T(1));
    if (propagate_down[b])
      cudnn::conv_backward_data<T>(ctx, algos_, filter_desc_, this->blobs_[0]->gpu_data(ctx),
                                   top_desc_, dy, conv_desc_, bottom_desc_,
                                   bottom[b]->mutable_gpu_diff(ctx), T(0));
  }
}
#endif

CREMA_INSTANTIATE_CLASS(ConvolutionLayer);

}  // namespace crema
