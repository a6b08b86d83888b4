#include "ops/pixel_shuffle_layer.h"

#include "core/parallel.h"

namespace crema {

template <class T>
void PixelShuffleLayer<T>::layer_setup(Context& ctx, const TensorVec<T>& bottom,
                                       const TensorVec<T>& top) {
  const PixelShuffleParameter& p = this->layer_param().pixel_shuffle_param();
  CREMA_LAYER_CHECK(p.upscale_factor() >= 1,
                    "pixel_shuffle_param.upscale_factor must be >= 1, got ", p.upscale_factor());
  args_.r = p.upscale_factor();
  zero_upsample_ = p.zero_upsample();
  CREMA_LAYER_CHECK(top[0] != bottom[0],
                    "PixelShuffle cannot run in-place; give the top its own name");
}

template <class T>
void PixelShuffleLayer<T>::reshape(Context& ctx, const TensorVec<T>& bottom,
                                   const TensorVec<T>& top) {
  const Tensor<T>& x = *bottom[0];
  CREMA_SHAPE_CHECK(x.num_axes() == 4, "bottom 0 must be 4-d (N, C, H, W), got ", x.shape_string());
  const int64_t r2 = args_.r * args_.r;
  if (zero_upsample_) {
    args_.channels = x.shape(1);
  } else {
    CREMA_SHAPE_CHECK(x.shape(1) % r2 == 0, "bottom 0 channels (", x.shape(1),
                      ") must be divisible by upscale_factor^2 = ", r2, "; shape ",
                      x.shape_string(), "; use a channel count that is a multiple of ", r2,
                      " or set zero_upsample: true");
    args_.channels = x.shape(1) / r2;
  }
  num_ = x.shape(0);
  args_.height = x.shape(2);
  args_.width = x.shape(3);
  top[0]->reshape({num_, args_.channels, args_.height * args_.r, args_.width * args_.r});
}

template <class T>
void PixelShuffleLayer<T>::forward_cpu(Context& ctx, const TensorVec<T>& bottom,
                                       const TensorVec<T>& top) {
  const kernels::PixelShuffleArgs a = args_;
  const T* x = bottom[0]->cpu_data();
  T* y = top[0]->mutable_cpu_data();
  const int64_t rows = top[0]->count(0, 3);
  if (zero_upsample_)
    parallel_for(ctx, rows, [&](int64_t i) { kernels::pixel_shuffle_zero_forward(i, a, x, y); });
  else
    parallel_for(ctx, rows, [&](int64_t i) { kernels::pixel_shuffle_forward(i, a, x, y); });
}

template <class T>
void PixelShuffleLayer<T>::backward_cpu(Context& ctx, const TensorVec<T>& top,
                                        const std::vector<bool>& propagate_down,
                                        const TensorVec<T>& bottom) {
  if (!propagate_down[0]) return;
  const kernels::PixelShuffleArgs a = args_;
  const T* dy = top[0]->cpu_diff();
  T* dx = bottom[0]->mutable_cpu_diff();
  const int64_t rows = bottom[0]->count(0, 3);
  if (zero_upsample_)
    parallel_for(ctx, rows, [&](int64_t i) { kernels::pixel_shuffle_zero_backward(i, a, dy, dx); });
  else
    parallel_for(ctx, rows, [&](int64_t i) { kernels::pixel_shuffle_backward(i, a, dy, dx); });
}

#if CREMA_WITH_CUDA
template <class T>
void PixelShuffleLayer<T>::forward_gpu(Context& ctx, const TensorVec<T>& bottom,
                                       const TensorVec<T>& top) {
  const T* x = bottom[0]->gpu_data(ctx);
  T* y = top[0]->mutable_gpu_data(ctx);
  const int64_t rows = top[0]->count(0, 3);
  if (zero_upsample_)
    cuda::launch_pixel_shuffle_zero_forward<T>(ctx.cuda_stream(), rows, args_, x, y);
  else
    cuda::launch_pixel_shuffle_forward<T>(ctx.cuda_stream(), rows, args_, x, y);
}

template <class T>
void PixelShuffleLayer<T>::backward_gpu(Context& ctx, const TensorVec<T>& top,
                                        const std::vector<bool>& propagate_down,
                                        const TensorVec<T>& bottom) {
  if (!propagate_down[0]) return;
  const T* dy = top[0]->gpu_diff(ctx);
  T* dx = bottom[0]->mutable_gpu_diff(ctx);
  const int64_t rows = bottom[0]->count(0, 3);
  if (zero_upsample_)
    cuda::launch_pixel_shuffle_zero_backward<T>(ctx.cuda_stream(), rows, args_, dy, dx);
  else
    cuda::launch_pixel_shuffle_backward<T>(ctx.cuda_stream(), rows, args_, dy, dx);
}
#endif

CREMA_INSTANTIATE_CLASS(PixelShuffleLayer);

}  // namespace crema
