#include "ops/upsample_layer.h"

#include "core/parallel.h"

namespace crema {

template <class T>
void UpsampleLayer<T>::layer_setup(Context& ctx, const TensorVec<T>& bottom,
                                   const TensorVec<T>& top) {
  const UpsampleParameter& p = this->layer_param().upsample_param();
  args_.scale_h = p.has_scale_h() ? p.scale_h() : p.scale();
  args_.scale_w = p.has_scale_w() ? p.scale_w() : p.scale();
  CREMA_LAYER_CHECK(args_.scale_h >= 1 && args_.scale_w >= 1,
                    "upsample_param scales must be >= 1, got scale_h ", args_.scale_h,
                    " and scale_w ", args_.scale_w);
  CREMA_LAYER_CHECK(top[0] != bottom[0], "Upsample cannot run in-place; give the top its own name");
}

template <class T>
void UpsampleLayer<T>::reshape(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  const Tensor<T>& x = *bottom[0];
  CREMA_SHAPE_CHECK(x.num_axes() == 4, "bottom 0 must be 4-d (N, C, H, W), got ", x.shape_string());
  args_.height = x.shape(2);
  args_.width = x.shape(3);
  top[0]->reshape({x.shape(0), x.shape(1), x.shape(2) * args_.scale_h, x.shape(3) * args_.scale_w});
}

template <class T>
void UpsampleLayer<T>::forward_cpu(Context& ctx, const TensorVec<T>& bottom,
                                   const TensorVec<T>& top) {
  const kernels::UpsampleArgs a = args_;
  const T* x = bottom[0]->cpu_data();
  T* y = top[0]->mutable_cpu_data();
  parallel_for(ctx, top[0]->count(0, 3), [&](int64_t i) { kernels::upsample_forward(i, a, x, y); });
}

template <class T>
void UpsampleLayer<T>::backward_cpu(Context& ctx, const TensorVec<T>& top,
                                    const std::vector<bool>& propagate_down,
                                    const TensorVec<T>& bottom) {
  if (!propagate_down[0]) return;
  const kernels::UpsampleArgs a = args_;
  const T* dy = top[0]->cpu_diff();
  T* dx = bottom[0]->mutable_cpu_diff();
  parallel_for(ctx, bottom[0]->count(0, 3),
               [&](int64_t i) { kernels::upsample_backward(i, a, dy, dx); });
}

#if CREMA_WITH_CUDA
template <class T>
void UpsampleLayer<T>::forward_gpu(Context& ctx, const TensorVec<T>& bottom,
                                   const TensorVec<T>& top) {
  cuda::launch_upsample_forward<T>(ctx.cuda_stream(), top[0]->count(0, 3), args_,
                                   bottom[0]->gpu_data(ctx), top[0]->mutable_gpu_data(ctx));
}

template <class T>
void UpsampleLayer<T>::backward_gpu(Context& ctx, const TensorVec<T>& top,
                                    const std::vector<bool>& propagate_down,
                                    const TensorVec<T>& bottom) {
  if (!propagate_down[0]) return;
  cuda::launch_upsample_backward<T>(ctx.cuda_stream(), bottom[0]->count(0, 3), args_,
                                    top[0]->gpu_diff(ctx), bottom[0]->mutable_gpu_diff(ctx));
}
#endif

CREMA_INSTANTIATE_CLASS(UpsampleLayer);

}  // namespace crema
