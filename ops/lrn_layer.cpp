#include "ops/lrn_layer.h"

#include "core/parallel.h"

namespace crema {

template <class T>
void LRNLayer<T>::layer_setup(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  const LRNParameter& p = this->layer_param().lrn_param();
  const int64_t size = p.local_size();
  CREMA_LAYER_CHECK(size % 2 == 1,
                    "lrn_param.local_size must be odd (the window is centred), "
                    "got ",
                    size);
  CREMA_LAYER_CHECK(top[0] != bottom[0],
                    "LRN cannot run in-place (backward needs the input); "
                    "give the layer a separate top");
  across_ = p.norm_region() == LRNParameter::ACROSS_CHANNELS;
  const T alpha = static_cast<T>(p.alpha()), beta = static_cast<T>(p.beta());
  const T n = static_cast<T>(across_ ? size : size * size);
  args_.pre_pad = (size - 1) / 2;
  args_.k = across_ ? static_cast<T>(p.k()) : T(1);
  args_.coeff = alpha / n;
  args_.beta = beta;
  args_.grad_coeff = T(2) * alpha * beta / n;
  local_size_ = size;
  alpha_ = p.alpha();
  beta_ = p.beta();
  k_ = p.k();
  // cuDNN has ACROSS_CHANNELS only (its divisive normalization is not Caffe's WITHIN_CHANNEL)
  // and takes local_size <= 16, k >= 1e-5 and beta >= 0.01; other settings run the kernel
  // bodies on the GPU.
  use_cudnn_ = across_ && size >= 1 && size <= 16 && p.k() >= 1e-5 && p.beta() >= 0.01;
}

template <class T>
void LRNLayer<T>::reshape(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  const Tensor<T>& x = *bottom[0];
  CREMA_SHAPE_CHECK(x.num_axes() == 4, "bottom 0 must be 4-d (N, C, H, W), got ", x.shape_string());
  args_.channels = x.shape(1);
  args_.height = x.shape(2);
  args_.width = x.shape(3);
  top[0]->reshape_like(x);
  scale_.reshape_like(x);
}

template <class T>
void LRNLayer<T>::forward_cpu(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  const kernels::LrnArgs<T> a = args_;
  const T* x = bottom[0]->cpu_data();
  T* scale = scale_.mutable_cpu_data();
  T* y = top[0]->mutable_cpu_data();
  const int64_t rows = bottom[0]->count(0, 3);
  if (across_) {
    parallel_for(ctx, rows, [&](int64_t i) { kernels::lrn_across_forward(i, a, x, scale, y); });
  } else {
    parallel_for(ctx, rows, [&](int64_t i) { kernels::lrn_within_forward(i, a, x, scale, y); });
  }
}

template <class T>
void LRNLayer<T>::backward_cpu(Context& ctx, const TensorVec<T>& top,
                               const std::vector<bool>& propagate_down,
                               const TensorVec<T>& bottom) {
  if (!propagate_down[0]) return;
  const kernels::LrnArgs<T> a = args_;
  const T* x = bottom[0]->cpu_data();
  const T* y = top[0]->cpu_data();
  const T* scale = scale_.cpu_data();
  const T* dy = top[0]->cpu_diff();
  T* dx = bottom[0]->mutable_cpu_diff();
  const int64_t rows = bottom[0]->count(0, 3);
  if (across_) {
    parallel_for(ctx, rows,
                 [&](int64_t i) { kernels::lrn_across_backward(i, a, x, y, scale, dy, dx); });
  } else {
    parallel_for(ctx, rows,
                 [&](int64_t i) { kernels::lrn_within_backward(i, a, x, y, scale, dy, dx); });
  }
}

#if CREMA_WITH_CUDA
template <class T>
void LRNLayer<T>::forward_gpu(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  if (bottom[0]->count() == 0) return;
  const T* x = bottom[0]->gpu_data(ctx);
  T* y = top[0]->mutable_gpu_data(ctx);
  if (use_cudnn_) {
    const Tensor<T>& b = *bottom[0];
    desc_.set_4d<T>(b.shape(0), b.shape(1), b.shape(2), b.shape(3));
    // cuDNN divides alpha by the window size itself, as Caffe's formula does.
    lrn_desc_.set(local_size_, alpha_, beta_, k_);
    cudnn::check(cudnnLRNCrossChannelForward(cudnn::handle(ctx), lrn_desc_.get(),
                                             CUDNN_LRN_CROSS_CHANNEL_DIM1, &cudnn::kOne<T>,
                                             desc_.get(), x, &cudnn::kZero<T>, desc_.get(), y),
                 "cudnnLRNCrossChannelForward");
    return;
  }
  const int64_t rows = bottom[0]->count(0, 3);
  T* scale = scale_.mutable_gpu_data(ctx);
  if (across_) {
    cuda::launch_lrn_across_forward<T>(ctx.cuda_stream(), rows, args_, x, scale, y);
  } else {
    cuda::launch_lrn_within_forward<T>(ctx.cuda_stream(), rows, args_, x, scale, y);
  }
}

template <class T>
void LRNLayer<T>::backward_gpu(Context& ctx, const TensorVec<T>& top,
                               const std::vector<bool>& propagate_down,
                               const TensorVec<T>& bottom) {
  if (!propagate_down[0] || bottom[0]->count() == 0) return;
  const T* x = bottom[0]->gpu_data(ctx);
  const T* y = top[0]->gpu_data(ctx);
  const T* dy = top[0]->gpu_diff(ctx);
  T* dx = bottom[0]->mutable_gpu_diff(ctx);
  if (use_cudnn_) {
    const Tensor<T>& b = *bottom[0];
    desc_.set_4d<T>(b.shape(0), b.shape(1), b.shape(2), b.shape(3));
    lrn_desc_.set(local_size_, alpha_, beta_, k_);
    cudnn::check(cudnnLRNCrossChannelBackward(cudnn::handle(ctx), lrn_desc_.get(),
                                              CUDNN_LRN_CROSS_CHANNEL_DIM1, &cudnn::kOne<T>,
                                              desc_.get(), y, desc_.get(), dy, desc_.get(), x,
                                              &cudnn::kZero<T>, desc_.get(), dx),
                 "cudnnLRNCrossChannelBackward");
    return;
  }
  const int64_t rows = bottom[0]->count(0, 3);
  const T* scale = scale_.gpu_data(ctx);
  if (across_) {
    cuda::launch_lrn_across_backward<T>(ctx.cuda_stream(), rows, args_, x, y, scale, dy, dx);
  } else {
    cuda::launch_lrn_within_backward<T>(ctx.cuda_stream(), rows, args_, x, y, scale, dy, dx);
  }
}
#endif

CREMA_INSTANTIATE_CLASS(LRNLayer);

}  // namespace crema
