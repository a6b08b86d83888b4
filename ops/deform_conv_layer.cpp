#include "ops/deform_conv_layer.h"

#include <algorithm>
#include <memory>

#include "core/blas.h"
#include "core/cudnn_util.h"
#include "core/parallel.h"
#include "cuda_kernels/im2col.h"
#include "ops/conv_geometry.h"

namespace crema {
namespace {

// DeformableConvolutionParameter repeats ConvolutionParameter's fields under the same numbers,
// so its wire form parses as a ConvolutionParameter (deformable_group and modulated become
// unknown fields there) and the shared readers of conv_geometry apply unchanged.
ConvolutionParameter as_conv_param(const DeformableConvolutionParameter& dp) {
  ConvolutionParameter cp;
  cp.ParseFromString(dp.SerializeAsString());
  return cp;
}

// Channels per work item of deform_conv_input_backward: the largest divisor of the group's
// channels that still leaves `items` work items for the chunk, so every thread has several
// while the planes an item owns stay few enough to sit in cache.
int64_t pick_channel_block(int64_t per_group, int64_t channels, int64_t num, int64_t items) {
  for (int64_t b = per_group; b > 1; --b)
    if (per_group % b == 0 && num * (channels / b) >= items) return b;
  return 1;
}

}  // namespace

template <class T>
void DeformableConvolutionLayer<T>::layer_setup(Context& ctx, const TensorVec<T>& bottom,
                                                const TensorVec<T>& top) {
  const DeformableConvolutionParameter& dp = this->layer_param().deformable_convolution_param();
  const ConvolutionParameter cp = as_conv_param(dp);
  const ConvChannels cc = read_conv_channels(cp, bottom[0]->shape(), "DeformableConvolution");
  const ConvGeometry g = read_conv_geometry(cp);
  channels_ = cc.channels;
  num_output_ = cc.num_output;
  group_ = cc.group;
  bias_term_ = cc.bias_term;
  deformable_group_ = dp.deformable_group();
  modulated_ = dp.modulated();
  CREMA_LAYER_CHECK(deformable_group_ > 0, "deformable_group must be > 0, got ", deformable_group_);
  CREMA_LAYER_CHECK(channels_ % deformable_group_ == 0, "deformable_group ", deformable_group_,
                    " must divide the input channels, got ", channels_, " channels (bottom ",
                    bottom[0]->shape_string(), ")");
  const size_t want_bottoms = modulated_ ? 3 : 2;
  CREMA_LAYER_CHECK(bottom.size() == want_bottoms,
                    modulated_ ? "modulated: true" : "modulated: false", " takes ", want_bottoms,
                    " bottoms (x, offset", modulated_ ? ", mask" : "", "), got ", bottom.size(),
                    modulated_ ? "; add the mask bottom" : "; set modulated: true to use a mask");
  args_ = {};
  args_.channels = channels_;
  args_.kernel_h = g.kernel_h;
  args_.kernel_w = g.kernel_w;
  args_.pad_h = g.pad_h;
  args_.pad_w = g.pad_w;
  args_.stride_h = g.stride_h;
  args_.stride_w = g.stride_w;
  args_.dilation_h = g.dilation_h;
  args_.dilation_w = g.dilation_w;
  args_.deformable_group = deformable_group_;
  args_.modulated = modulated_;

  this->blobs_.clear();
  this->blobs_.push_back(std::make_shared<Tensor<T>>(
      std::vector<int64_t>{num_output_, channels_ / group_, g.kernel_h, g.kernel_w}));
  this->fill_blob(ctx, dp.weight_filler(), 0);
  if (bias_term_) {
    this->blobs_.push_back(std::make_shared<Tensor<T>>(std::vector<int64_t>{num_output_}));
    this->fill_blob(ctx, dp.bias_filler(), 1);
  }
}

template <class T>
void DeformableConvolutionLayer<T>::reshape(Context& ctx, const TensorVec<T>& bottom,
                                            const TensorVec<T>& top) {
  const Tensor<T>& x = *bottom[0];
  CREMA_SHAPE_CHECK(x.num_axes() == 4, "bottom 0 (x) must be 4-d (N, C, H, W), got ",
                    x.shape_string());
  CREMA_SHAPE_CHECK(x.shape(1) == channels_, "bottom 0 (x) has ", x.shape(1),
                    " channels but the weights were set up for ", channels_, " (shape ",
                    x.shape_string(), ")");
  for (size_t i = 0; i < bottom.size(); ++i)
    CREMA_LAYER_CHECK(top[0] != bottom[i], "cannot run in place (top 0 is bottom ", i,
                      "); give the top its own name");
  const int64_t num = x.shape(0), height = x.shape(2), width = x.shape(3);
  const int64_t kh = args_.kernel_h, kw = args_.kernel_w;
  const int64_t ext_h = args_.dilation_h * (kh - 1) + 1;
  const int64_t ext_w = args_.dilation_w * (kw - 1) + 1;
  CREMA_SHAPE_CHECK(height + 2 * args_.pad_h >= ext_h && width + 2 * args_.pad_w >= ext_w,
                    "input HxW ", height, "x", width, " too small for kernel ", kh, "x", kw,
                    " (dilated extent ", ext_h, "x", ext_w, ") with pad ", args_.pad_h, "x",
                    args_.pad_w, "; need H + 2 * pad >= dilation * (kernel - 1) + 1");
  const int64_t out_h = (height + 2 * args_.pad_h - ext_h) / args_.stride_h + 1;
  const int64_t out_w = (width + 2 * args_.pad_w - ext_w) / args_.stride_w + 1;
  const int64_t taps = kh * kw;
  const std::vector<int64_t> want_offset{num, 2 * deformable_group_ * taps, out_h, out_w};
  CREMA_SHAPE_CHECK(
      bottom[1]->shape() == want_offset, "bottom 1 (offset) must be ", shape_string(want_offset),
      " = (N, 2 * deformable_group * kh * kw, OH, OW), got ", bottom[1]->shape_string());
  if (modulated_) {
    const std::vector<int64_t> want_mask{num, deformable_group_ * taps, out_h, out_w};
    CREMA_SHAPE_CHECK(bottom[2]->shape() == want_mask, "bottom 2 (mask) must be ",
                      shape_string(want_mask), " = (N, deformable_group * kh * kw, OH, OW), got ",
                      bottom[2]->shape_string());
  }
  top[0]->reshape({num, num_output_, out_h, out_w});
  args_.height = height;
  args_.width = width;
  args_.out_h = out_h;
  args_.out_w = out_w;
  args_.num = conv_chunk_size(channels_ * taps * out_h * out_w, num);
  const int64_t cols = args_.num * out_h * out_w;
  col_buffer_.reshape({channels_ * taps, cols});
  dcol_buffer_.reshape({channels_ * taps, cols});
  out_buffer_.reshape({num_output_, cols});
  if (bias_term_) {
    bias_multiplier_.reshape({cols});
    bias_multiplier_.set_data(T(1));
  }
  col_chunk_ = -1;
}

template <class T>
kernels::DeformConvArgs DeformableConvolutionLayer<T>::chunk_args(int64_t n0, int64_t num) const {
  kernels::DeformConvArgs a = args_;
  a.num = std::min(args_.num, num - n0);
  return a;
}

template <class T>
void DeformableConvolutionLayer<T>::im2col(Context& ctx, const kernels::DeformConvArgs& a,
                                           const TensorVec<T>& bottom, int64_t n0) {
  const int64_t taps = a.kernel_h * a.kernel_w, p = a.out_h * a.out_w;
  const T* x = bottom[0]->cpu_data() + n0 * channels_ * a.height * a.width;
  const T* offset = bottom[1]->cpu_data() + n0 * 2 * deformable_group_ * taps * p;
  const T* mask = modulated_ ? bottom[2]->cpu_data() + n0 * deformable_group_ * taps * p : nullptr;
  T* col = col_buffer_.mutable_cpu_data();
  parallel_for(ctx, kernels::deform_conv_im2col_items(a),
               [&](int64_t i) { kernels::deform_conv_im2col(i, a, x, offset, mask, col); });
  col_chunk_ = n0;
}

template <class T>
void DeformableConvolutionLayer<T>::forward_cpu(Context& ctx, const TensorVec<T>& bottom,
                                                const TensorVec<T>& top) {
  const T* weight = this->blobs_[0]->cpu_data();
  const int64_t m = num_output_ / group_;                                  // outputs per group
  const int64_t k = channels_ / group_ * args_.kernel_h * args_.kernel_w;  // rows per group
  const int64_t p = args_.out_h * args_.out_w;
  const int64_t out_dim = num_output_ * p;
  const int64_t num = bottom[0]->shape(0);
  T* y = top[0]->mutable_cpu_data();
  for (int64_t n0 = 0; n0 < num; n0 += args_.num) {
    const kernels::DeformConvArgs a = chunk_args(n0, num);
    im2col(ctx, a, bottom, n0);
    const int64_t cols = a.num * p, o = num_output_, imgs = a.num;
    const T* col = col_buffer_.cpu_data();
    T* out = out_buffer_.mutable_cpu_data();
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

template <class T>
void DeformableConvolutionLayer<T>::backward_cpu(Context& ctx, const TensorVec<T>& top,
                                                 const std::vector<bool>& propagate_down,
                                                 const TensorVec<T>& bottom) {
  const T* weight = this->blobs_[0]->cpu_data();
  const auto [taps, m, k, p, in_dim, out_dim, offset_dim, mask_dim] = backward_dims();
  const Wanted want = wanted(propagate_down);
  if (!want.any()) return;
  const auto [weight_down, bias_down, x_down, offset_down, mask_down] = want;
  const int64_t num = bottom[0]->shape(0);
  const T* dy = top[0]->cpu_diff();
  const T* x = bottom[0]->cpu_data();
  const T* offset = bottom[1]->cpu_data();
  const T* mask = modulated_ ? bottom[2]->cpu_data() : nullptr;
  const int64_t chunks = num == 0 ? 0 : (num - 1) / args_.num + 1;
  // Last chunk first: its columns are still in col_buffer_ from the forward pass.
  for (int64_t chunk = chunks - 1; chunk >= 0; --chunk) {
    const int64_t n0 = chunk * args_.num;
    kernels::DeformConvArgs a = chunk_args(n0, num);
    const int64_t cols = a.num * p, o = num_output_, imgs = a.num;
    // (images, num_output, p) -> (num_output, images, p): the GEMM layout of the top diff.
    T* dyb = out_buffer_.mutable_cpu_data();
    const T* dyc = dy + n0 * out_dim;
    parallel_for(ctx, imgs * out_dim,
                 [&](int64_t i) { kernels::swap_leading_axes(i, imgs, o, p, dyc, dyb); });
    if (bias_down)
      blas::gemv<T>(false, num_output_, cols, T(1), dyb, bias_multiplier_.cpu_data(), T(1),
                    this->blobs_[1]->mutable_cpu_diff());
    if (weight_down) {
      if (col_chunk_ != n0) im2col(ctx, a, bottom, n0);
      const T* col = col_buffer_.cpu_data();
      T* weight_diff = this->blobs_[0]->mutable_cpu_diff();
      for (int64_t g = 0; g < group_; ++g)
        blas::gemm<T>(false, true, m, k, cols, T(1), dyb + g * m * cols, col + g * k * cols, T(1),
                      weight_diff + g * m * k);
    }
    if (!x_down && !offset_down && !mask_down) continue;
    T* dcol = dcol_buffer_.mutable_cpu_data();
    for (int64_t g = 0; g < group_; ++g)
      blas::gemm<T>(true, false, k, cols, m, T(1), weight + g * m * k, dyb + g * m * cols, T(0),
                    dcol + g * k * cols);
    const T* offset_c = offset + n0 * offset_dim;
    const T* mask_c = mask ? mask + n0 * mask_dim : nullptr;
    if (x_down) {
      a.channel_block = pick_channel_block(channels_ / deformable_group_, channels_, a.num,
                                           8 * std::max(ctx.threads, 1));
      T* dx = bottom[0]->mutable_cpu_diff() + n0 * in_dim;
      parallel_for_heavy(ctx, a.num * channels_ / a.channel_block, [&](int64_t i) {
        kernels::deform_conv_input_backward(i, a, offset_c, mask_c, dcol, dx);
      });
    }
    if (offset_down || mask_down) {
      const T* xc = x + n0 * in_dim;
      T* doffset = offset_down ? bottom[1]->mutable_cpu_diff() + n0 * offset_dim : nullptr;
      T* dmask = mask_down ? bottom[2]->mutable_cpu_diff() + n0 * mask_dim : nullptr;
      parallel_for(ctx, a.num * mask_dim, [&](int64_t i) {
        kernels::deform_conv_offset_backward(i, a, xc, offset_c, mask_c, dcol, doffset, dmask);
      });
    }
  }
}

#if CREMA_WITH_CUDA
template <class T>
void DeformableConvolutionLayer<T>::im2col_gpu(Context& ctx, const kernels::DeformConvArgs& a,
                                               const TensorVec<T>& bottom, int64_t n0) {
  const int64_t taps = a.kernel_h * a.kernel_w, p = a.out_h * a.out_w;
  const T* x = bottom[0]->gpu_data(ctx) + n0 * channels_ * a.height * a.width;
  const T* offset = bottom[1]->gpu_data(ctx) + n0 * 2 * deformable_group_ * taps * p;
  const T* mask =
      modulated_ ? bottom[2]->gpu_data(ctx) + n0 * deformable_group_ * taps * p : nullptr;
  cuda::launch_deform_conv_im2col<T>(ctx.cuda_stream(), kernels::deform_conv_im2col_items(a), a, x,
                                     offset, mask, col_buffer_.mutable_gpu_data(ctx));
  col_chunk_ = n0;
}

// The CPU path's chunks, bodies and GEMMs (cuBLAS) in the same order.
template <class T>
void DeformableConvolutionLayer<T>::forward_gpu(Context& ctx, const TensorVec<T>& bottom,
                                                const TensorVec<T>& top) {
  const T* weight = this->blobs_[0]->gpu_data(ctx);
  const int64_t m = num_output_ / group_;
  const int64_t k = channels_ / group_ * args_.kernel_h * args_.kernel_w;
  const int64_t p = args_.out_h * args_.out_w;
  const int64_t out_dim = num_output_ * p;
  const int64_t num = bottom[0]->shape(0);
  T* y = top[0]->mutable_gpu_data(ctx);
  for (int64_t n0 = 0; n0 < num; n0 += args_.num) {
    const kernels::DeformConvArgs a = chunk_args(n0, num);
    im2col_gpu(ctx, a, bottom, n0);
    const int64_t cols = a.num * p;
    const T* col = col_buffer_.gpu_data(ctx);
    T* out = out_buffer_.mutable_gpu_data(ctx);
    for (int64_t g = 0; g < group_; ++g)
      cudnn::gemm<T>(ctx, false, false, m, cols, k, T(1), weight + g * m * k, col + g * k * cols,
                     T(0), out + g * m * cols);
    if (bias_term_)
      cudnn::gemm<T>(ctx, false, false, num_output_, cols, 1, T(1), this->blobs_[1]->gpu_data(ctx),
                     bias_multiplier_.gpu_data(ctx), T(1), out);
    cuda::launch_deform_conv_swap_axes<T>(ctx.cuda_stream(), a.num * out_dim, num_output_, a.num, p,
                                          out, y + n0 * out_dim);
  }
}

template <class T>
void DeformableConvolutionLayer<T>::backward_gpu(Context& ctx, const TensorVec<T>& top,
                                                 const std::vector<bool>& propagate_down,
                                                 const TensorVec<T>& bottom) {
  const auto [taps, m, k, p, in_dim, out_dim, offset_dim, mask_dim] = backward_dims();
  const Wanted want = wanted(propagate_down);
  if (!want.any()) return;
  const auto [weight_down, bias_down, x_down, offset_down, mask_down] = want;
  const int64_t num = bottom[0]->shape(0);
  const T* weight = this->blobs_[0]->gpu_data(ctx);
  const T* dy = top[0]->gpu_diff(ctx);
  const T* x = bottom[0]->gpu_data(ctx);
  const T* offset = bottom[1]->gpu_data(ctx);
  const T* mask = modulated_ ? bottom[2]->gpu_data(ctx) : nullptr;
  const int64_t chunks = num == 0 ? 0 : (num - 1) / args_.num + 1;
  for (int64_t chunk = chunks - 1; chunk >= 0; --chunk) {
    const int64_t n0 = chunk * args_.num;
    kernels::DeformConvArgs a = chunk_args(n0, num);
    const int64_t cols = a.num * p;
    T* dyb = out_buffer_.mutable_gpu_data(ctx);
    cuda::launch_deform_conv_swap_axes<T>(ctx.cuda_stream(), a.num * out_dim, a.num, num_output_, p,
                                          dy + n0 * out_dim, dyb);
    if (bias_down)
      cudnn::gemm<T>(ctx, false, false, num_output_, 1, cols, T(1), dyb,
                     bias_multiplier_.gpu_data(ctx), T(1), this->blobs_[1]->mutable_gpu_diff(ctx));
    if (weight_down) {
      if (col_chunk_ != n0) im2col_gpu(ctx, a, bottom, n0);
      const T* col = col_buffer_.gpu_data(ctx);
      T* weight_diff = this->blobs_[0]->mutable_gpu_diff(ctx);
      for (int64_t g = 0; g < group_; ++g)
        cudnn::gemm<T>(ctx, false, true, m, k, cols, T(1), dyb + g * m * cols, col + g * k * cols,
                       T(1), weight_diff + g * m * k);
    }
    if (!x_down && !offset_down && !mask_down) continue;
    T* dcol = dcol_buffer_.mutable_gpu_data(ctx);
    for (int64_t g = 0; g < group_; ++g)
      cudnn::gemm<T>(ctx, true, false, k, cols, m, T(1), weight + g * m * k, dyb + g * m * cols,
                     T(0), dcol + g * k * cols);
    const T* offset_c = offset + n0 * offset_dim;
    const T* mask_c = mask ? mask + n0 * mask_dim : nullptr;
    if (x_down) {
      // One plane per work item: the most items the body allows.
      a.channel_block = 1;
      cuda::launch_deform_conv_input_backward<T>(ctx.cuda_stream(), a.num * channels_, a, offset_c,
                                                 mask_c, dcol,
                                                 bottom[0]->mutable_gpu_diff(ctx) + n0 * in_dim);
    }
    if (offset_down || mask_down) {
      T* doffset = offset_down ? bottom[1]->mutable_gpu_diff(ctx) + n0 * offset_dim : nullptr;
      T* dmask = mask_down ? bottom[2]->mutable_gpu_diff(ctx) + n0 * mask_dim : nullptr;
      cuda::launch_deform_conv_offset_backward<T>(ctx.cuda_stream(), a.num * mask_dim, a,
                                                  x + n0 * in_dim, offset_c, mask_c, dcol, doffset,
                                                  dmask);
    }
  }
}
#endif

CREMA_INSTANTIATE_CLASS(DeformableConvolutionLayer);

}  // namespace crema
