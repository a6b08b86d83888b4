#include "ops/mvn_layer.h"

#include "core/parallel.h"

namespace crema {

template <class T>
void MVNLayer<T>::layer_setup(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  const MVNParameter& p = this->layer_param().mvn_param();
  across_channels_ = p.across_channels();
  args_.normalize_variance = p.normalize_variance();
  args_.eps = static_cast<T>(p.eps());
  CREMA_LAYER_CHECK(p.eps() >= 0, "mvn_param.eps must be >= 0, got ", p.eps());
}

template <class T>
void MVNLayer<T>::reshape(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  const Tensor<T>& x = *bottom[0];
  const int first = across_channels_ ? 1 : 2;  // the axes normalized together start here
  CREMA_SHAPE_CHECK(x.num_axes() >= first, "bottom 0 must have at least ", first,
                    across_channels_ ? " axis (N, ...)" : " axes (N, C, ...)", ", got ",
                    x.shape_string());
  rows_ = x.count(0, first);
  args_.dim = x.count(first);
  if (args_.dim == 0) rows_ = 0;
  if (top[0] != bottom[0]) top[0]->reshape_like(x);
  mean_.reshape({rows_});
  sigma_.reshape({rows_});
}

template <class T>
void MVNLayer<T>::forward_cpu(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  const kernels::MvnArgs<T> a = args_;
  const T* x = bottom[0]->cpu_data();
  T* mean = mean_.mutable_cpu_data();
  T* sigma = sigma_.mutable_cpu_data();
  T* y = top[0]->mutable_cpu_data();
  parallel_for_heavy(ctx, rows_, [&](int64_t r) { kernels::mvn_forward(r, a, x, mean, sigma, y); });
}

template <class T>
void MVNLayer<T>::backward_cpu(Context& ctx, const TensorVec<T>& top,
                               const std::vector<bool>& propagate_down,
                               const TensorVec<T>& bottom) {
  if (!propagate_down[0]) return;
  const kernels::MvnArgs<T> a = args_;
  const T* y = top[0]->cpu_data();
  const T* sigma = sigma_.cpu_data();
  const T* dy = top[0]->cpu_diff();
  T* dx = bottom[0]->mutable_cpu_diff();
  parallel_for_heavy(ctx, rows_, [&](int64_t r) { kernels::mvn_backward(r, a, y, sigma, dy, dx); });
}

#if CREMA_WITH_CUDA
template <class T>
void MVNLayer<T>::forward_gpu(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  cuda::launch_mvn_forward<T>(ctx.cuda_stream(), rows_, args_, bottom[0]->gpu_data(ctx),
                              mean_.mutable_gpu_data(ctx), sigma_.mutable_gpu_data(ctx),
                              top[0]->mutable_gpu_data(ctx));
}

template <class T>
void MVNLayer<T>::backward_gpu(Context& ctx, const TensorVec<T>& top,
                               const std::vector<bool>& propagate_down,
                               const TensorVec<T>& bottom) {
  if (!propagate_down[0]) return;
  cuda::launch_mvn_backward<T>(ctx.cuda_stream(), rows_, args_, top[0]->gpu_data(ctx),
                               sigma_.gpu_data(ctx), top[0]->gpu_diff(ctx),
                               bottom[0]->mutable_gpu_diff(ctx));
}
#endif

CREMA_INSTANTIATE_CLASS(MVNLayer);

}  // namespace crema
