#include "ops/conv_layer.h"

#include <algorithm>

#include "core/blas.h"
#include "core/parallel.h"

namespace crema {

template <class T>
void ConvolutionLayer<T>::reshape(Context& ctx, const TensorVec<T>& bottom,
                                  const TensorVec<T>& top) {
  this->check_bottoms(bottom, top);
  const Tensor<T>& b0 = *bottom[0];
  const int64_t height = b0.shape(2), width = b0.shape(3);
  const int64_t ext_h = this->dilation_h_ * (this->kernel_h_ - 1) + 1;
  const int64_t ext_w = this->dilation_w_ * (this->kernel_w_ - 1) + 1;
  CREMA_SHAPE_CHECK(height + 2 * this->pad_h_ >= ext_h && width + 2 * this->pad_w_ >= ext_w,
                    "input HxW ", height, "x", width, " too small for kernel ", this->kernel_h_,
                    "x", this->kernel_w_, " (dilated extent ", ext_h, "x", ext_w, ") with pad ",
                    this->pad_h_, "x", this->pad_w_,
                    "; need H + 2 * pad >= dilation * (kernel - 1) + 1");
  const int64_t out_h = (height + 2 * this->pad_h_ - ext_h) / this->stride_h_ + 1;
  const int64_t out_w = (width + 2 * this->pad_w_ - ext_w) / this->stride_w_ + 1;
  for (auto* t : top) t->reshape({b0.shape(0), this->num_output_, out_h, out_w});
  const int64_t cols = this->set_im2col(this->channels_, height, width, out_h, out_w, b0.shape(0));
  out_buffer_.reshape({this->num_output_, cols});
  if (this->bias_term_) {
    bias_multiplier_.reshape({cols});
    bias_multiplier_.set_data(T(1));
  }
}

template <class T>
void ConvolutionLayer<T>::forward_cpu(Context& ctx, const TensorVec<T>& bottom,
                                      const TensorVec<T>& top) {
  const T* weight = this->blobs_[0]->cpu_data();
  const int64_t m = this->num_output_ / this->group_;  // outputs per group
  const int64_t k =
      this->channels_ / this->group_ * this->kernel_h_ * this->kernel_w_;  // column rows per group
  const int64_t p = this->args_.out_h * this->args_.out_w;
  const int64_t in_dim = this->channels_ * this->args_.height * this->args_.width;
  const int64_t out_dim = this->num_output_ * p;
  const int64_t rows = this->channels_ * this->kernel_h_ * this->kernel_w_;
  for (size_t b = 0; b < bottom.size(); ++b) {
    const T* x = bottom[b]->cpu_data();
    T* y = top[b]->mutable_cpu_data();
    const int64_t num = bottom[b]->shape(0);
    for (int64_t n0 = 0; n0 < num; n0 += this->args_.num) {
      kernels::Im2colArgs a = this->args_;
      a.num = std::min(this->args_.num, num - n0);
      const int64_t cols = a.num * p, o = this->num_output_, imgs = a.num;
      const T* xc = x + n0 * in_dim;
      T* col = this->col_buffer_.mutable_cpu_data();
      T* out = out_buffer_.mutable_cpu_data();
      parallel_for(ctx, rows * a.num * a.out_h,
                   [&](int64_t i) { kernels::im2col_forward(i, a, xc, col); });
      // Column rows of group g are rows [g * k, (g + 1) * k), each of length cols.
      for (int64_t g = 0; g < this->group_; ++g)
        blas::gemm<T>(false, false, m, cols, k, T(1), weight + g * m * k, col + g * k * cols, T(0),
                      out + g * m * cols);
      if (this->bias_term_)
        blas::gemm<T>(false, false, this->num_output_, cols, 1, T(1), this->blobs_[1]->cpu_data(),
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
  const int64_t m = this->num_output_ / this->group_;
  const int64_t k = this->channels_ / this->group_ * this->kernel_h_ * this->kernel_w_;
  const int64_t p = this->args_.out_h * this->args_.out_w;
  const int64_t in_dim = this->channels_ * this->args_.height * this->args_.width;
  const int64_t out_dim = this->num_output_ * p;
  const int64_t rows = this->channels_ * this->kernel_h_ * this->kernel_w_;
  const bool weight_down = this->param_propagate_down(0);
  const bool bias_down = this->bias_term_ && this->param_propagate_down(1);
  for (size_t b = 0; b < bottom.size(); ++b) {
    if (!weight_down && !bias_down && !propagate_down[b]) continue;
    const T* x = bottom[b]->cpu_data();
    const T* dy = top[b]->cpu_diff();
    const int64_t num = bottom[b]->shape(0);
    for (int64_t n0 = 0; n0 < num; n0 += this->args_.num) {
      kernels::Im2colArgs a = this->args_;
      a.num = std::min(this->args_.num, num - n0);
      const int64_t cols = a.num * p, o = this->num_output_, imgs = a.num;
      // (images, num_output, p) -> (num_output, images, p): the GEMM layout of the top diff.
      T* dyb = out_buffer_.mutable_cpu_data();
      const T* dyc = dy + n0 * out_dim;
      parallel_for(ctx, imgs * out_dim,
                   [&](int64_t i) { kernels::swap_leading_axes(i, imgs, o, p, dyc, dyb); });
      if (bias_down)
        blas::gemv<T>(false, this->num_output_, cols, T(1), dyb, bias_multiplier_.cpu_data(), T(1),
                      this->blobs_[1]->mutable_cpu_diff());
      T* col = this->col_buffer_.mutable_cpu_data();
      if (weight_down) {
        const T* xc = x + n0 * in_dim;
        parallel_for(ctx, rows * a.num * a.out_h,
                     [&](int64_t i) { kernels::im2col_forward(i, a, xc, col); });
        T* weight_diff = this->blobs_[0]->mutable_cpu_diff();
        for (int64_t g = 0; g < this->group_; ++g)
          blas::gemm<T>(false, true, m, k, cols, T(1), dyb + g * m * cols, col + g * k * cols, T(1),
                        weight_diff + g * m * k);
      }
      if (propagate_down[b]) {
        for (int64_t g = 0; g < this->group_; ++g)
          blas::gemm<T>(true, false, k, cols, m, T(1), weight + g * m * k, dyb + g * m * cols, T(0),
                        col + g * k * cols);
        T* dx = bottom[b]->mutable_cpu_diff() + n0 * in_dim;
        parallel_for(ctx, imgs * this->channels_ * this->args_.height,
                     [&](int64_t i) { kernels::im2col_backward(i, a, col, dx); });
      }
    }
  }
}

CREMA_INSTANTIATE_CLASS(ConvolutionLayer);

}  // namespace crema
