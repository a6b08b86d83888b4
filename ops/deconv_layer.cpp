#include "ops/deconv_layer.h"

#include <algorithm>

#include "core/blas.h"
#include "core/parallel.h"
#include "cuda_kernels/bias.h"

namespace crema {

template <class T>
void DeconvolutionLayer<T>::reshape(Context& ctx, const TensorVec<T>& bottom,
                                    const TensorVec<T>& top) {
  this->check_bottoms(bottom, top);
  const Tensor<T>& b0 = *bottom[0];
  const int64_t height = b0.shape(2), width = b0.shape(3);
  CREMA_SHAPE_CHECK(height > 0 && width > 0,
                    "bottom 0 has an empty spatial extent: ", b0.shape_string());
  const int64_t out_h = this->stride_h_ * (height - 1) + this->dilation_h_ * (this->kernel_h_ - 1) +
                        1 - 2 * this->pad_h_;
  const int64_t out_w = this->stride_w_ * (width - 1) + this->dilation_w_ * (this->kernel_w_ - 1) +
                        1 - 2 * this->pad_w_;
  CREMA_SHAPE_CHECK(out_h > 0 && out_w > 0, "output would be ", out_h, "x", out_w,
                    " for input HxW ", height, "x", width, ", kernel ", this->kernel_h_, "x",
                    this->kernel_w_, ", stride ", this->stride_h_, "x", this->stride_w_,
                    ", dilation ", this->dilation_h_, "x", this->dilation_w_, " and pad ",
                    this->pad_h_, "x", this->pad_w_,
                    "; need stride * (H - 1) + dilation * (kernel - 1) + 1 > 2 * pad");
  for (auto* t : top) t->reshape({b0.shape(0), this->num_output_, out_h, out_w});
  // E runs from this layer's top (num_output, OH, OW) to its bottom (H, W).
  const int64_t cols =
      this->set_im2col(this->num_output_, out_h, out_w, height, width, b0.shape(0));
  in_buffer_.reshape({this->channels_, cols});
}

template <class T>
void DeconvolutionLayer<T>::forward_cpu(Context& ctx, const TensorVec<T>& bottom,
                                        const TensorVec<T>& top) {
  const T* weight = this->blobs_[0]->cpu_data();
  const T* bias = this->bias_term_ ? this->blobs_[1]->cpu_data() : nullptr;
  const int64_t m = this->channels_ / this->group_;  // bottom channels per group
  const int64_t k = this->num_output_ / this->group_ * this->kernel_h_ *
                    this->kernel_w_;                        // column rows per group
  const int64_t p = this->args_.out_h * this->args_.out_w;  // bottom pixels
  const int64_t in_dim = this->channels_ * p;
  const int64_t out_dim = this->num_output_ * this->args_.height * this->args_.width;
  for (size_t b = 0; b < bottom.size(); ++b) {
    const T* x = bottom[b]->cpu_data();
    T* y = top[b]->mutable_cpu_data();
    const int64_t num = bottom[b]->shape(0);
    for (int64_t n0 = 0; n0 < num; n0 += this->args_.num) {
      kernels::Im2colArgs a = this->args_;
      a.num = std::min(this->args_.num, num - n0);
      const int64_t cols = a.num * p, c = this->channels_, imgs = a.num;
      // (images, C, p) -> (C, images, p): the GEMM layout of the bottom chunk.
      const T* xc = x + n0 * in_dim;
      T* xb = in_buffer_.mutable_cpu_data();
      parallel_for(ctx, imgs * in_dim,
                   [&](int64_t i) { kernels::swap_leading_axes(i, imgs, c, p, xc, xb); });
      // Columns of the equivalent convolution: col_g = W_g^T x_g per group.
      T* col = this->col_buffer_.mutable_cpu_data();
      for (int64_t g = 0; g < this->group_; ++g)
        blas::gemm<T>(true, false, k, cols, m, T(1), weight + g * m * k, xb + g * m * cols, T(0),
                      col + g * k * cols);
      // col2im scatters the columns back to image pixels (as a gather per pixel row).
      T* yc = y + n0 * out_dim;
      parallel_for(ctx, imgs * this->num_output_ * a.height,
                   [&](int64_t i) { kernels::im2col_backward(i, a, col, yc); });
      if (bias != nullptr) {
        const kernels::BroadcastArgs bd{imgs, this->num_output_, a.height * a.width};
        parallel_for(ctx, imgs * this->num_output_,
                     [&](int64_t i) { kernels::bias_forward(i, bd, yc, bias, yc); });
      }
    }
  }
}

template <class T>
void DeconvolutionLayer<T>::backward_cpu(Context& ctx, const TensorVec<T>& top,
                                         const std::vector<bool>& propagate_down,
                                         const TensorVec<T>& bottom) {
  const T* weight = this->blobs_[0]->cpu_data();
  const int64_t m = this->channels_ / this->group_;
  const int64_t k = this->num_output_ / this->group_ * this->kernel_h_ * this->kernel_w_;
  const int64_t p = this->args_.out_h * this->args_.out_w;
  const int64_t in_dim = this->channels_ * p;
  const int64_t out_dim = this->num_output_ * this->args_.height * this->args_.width;
  const int64_t rows = this->num_output_ * this->kernel_h_ * this->kernel_w_;
  const bool weight_down = this->param_propagate_down(0);
  const bool bias_down = this->bias_term_ && this->param_propagate_down(1);
  for (size_t b = 0; b < bottom.size(); ++b) {
    if (!weight_down && !bias_down && !propagate_down[b]) continue;
    const T* x = bottom[b]->cpu_data();
    const T* dy = top[b]->cpu_diff();
    const int64_t num = bottom[b]->shape(0);
    if (bias_down) {
      const kernels::BroadcastArgs bd{num, this->num_output_,
                                      this->args_.height * this->args_.width};
      T* db = this->blobs_[1]->mutable_cpu_diff();
      parallel_for(ctx, this->num_output_,
                   [&](int64_t o) { kernels::bias_param_backward(o, bd, dy, db, true); });
    }
    if (!weight_down && !propagate_down[b]) continue;
    for (int64_t n0 = 0; n0 < num; n0 += this->args_.num) {
      kernels::Im2colArgs a = this->args_;
      a.num = std::min(this->args_.num, num - n0);
      const int64_t cols = a.num * p, c = this->channels_, imgs = a.num;
      // im2col of the top diff: the forward pass of the equivalent convolution.
      const T* dyc = dy + n0 * out_dim;
      T* col = this->col_buffer_.mutable_cpu_data();
      parallel_for(ctx, rows * a.num * a.out_h,
                   [&](int64_t i) { kernels::im2col_forward(i, a, dyc, col); });
      T* buf = in_buffer_.mutable_cpu_data();
      if (weight_down) {
        const T* xc = x + n0 * in_dim;
        parallel_for(ctx, imgs * in_dim,
                     [&](int64_t i) { kernels::swap_leading_axes(i, imgs, c, p, xc, buf); });
        T* weight_diff = this->blobs_[0]->mutable_cpu_diff();
        for (int64_t g = 0; g < this->group_; ++g)
          blas::gemm<T>(false, true, m, k, cols, T(1), buf + g * m * cols, col + g * k * cols, T(1),
                        weight_diff + g * m * k);
      }
      if (propagate_down[b]) {
        for (int64_t g = 0; g < this->group_; ++g)
          blas::gemm<T>(false, false, m, cols, k, T(1), weight + g * m * k, col + g * k * cols,
                        T(0), buf + g * m * cols);
        // (C, images, p) -> (images, C, p)
        T* dx = bottom[b]->mutable_cpu_diff() + n0 * in_dim;
        parallel_for(ctx, imgs * in_dim,
                     [&](int64_t i) { kernels::swap_leading_axes(i, c, imgs, p, buf, dx); });
      }
    }
  }
}

CREMA_INSTANTIATE_CLASS(DeconvolutionLayer);

}  // namespace crema
