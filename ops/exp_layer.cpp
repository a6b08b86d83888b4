#include "ops/exp_layer.h"

#include <cmath>

#include "core/parallel.h"
#include "cuda_kernels/exp.h"

namespace crema {

template <class T>
void ExpLayer<T>::layer_setup(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  const ExpParameter& p = this->layer_param().exp_param();
  const double base = p.base();
  CREMA_LAYER_CHECK(base == -1 || base > 0, "exp_param.base must be > 0 (or -1 for e), got ", base);
  const double log_base = base == -1 ? 1.0 : std::log(base);
  inner_scale_ = static_cast<T>(log_base * p.scale());
  outer_scale_ = static_cast<T>(p.shift() == 0 ? 1.0 : std::exp(log_base * p.shift()));
  CREMA_LAYER_CHECK(std::isfinite(inner_scale_) && std::isfinite(outer_scale_), "exp_param base ",
                    base, ", scale ", p.scale(), ", shift ", p.shift(),
                    " overflow: base^shift = ", outer_scale_,
                    ", ln(base) * scale = ", inner_scale_);
}

template <class T>
void ExpLayer<T>::reshape(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  if (top[0] != bottom[0]) top[0]->reshape_like(*bottom[0]);
}

template <class T>
void ExpLayer<T>::forward_cpu(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  const kernels::ExpArgs<T> args{inner_scale_, outer_scale_};
  const T* x = bottom[0]->cpu_data();
  T* y = top[0]->mutable_cpu_data();
  parallel_for(ctx, bottom[0]->count(), [&](int64_t i) { kernels::exp_forward(i, args, x, y); });
}

template <class T>
void ExpLayer<T>::backward_cpu(Context& ctx, const TensorVec<T>& top,
                               const std::vector<bool>& propagate_down,
                               const TensorVec<T>& bottom) {
  if (!propagate_down[0]) return;
  const kernels::ExpArgs<T> args{inner_scale_, outer_scale_};
  const T* y = top[0]->cpu_data();
  const T* dy = top[0]->cpu_diff();
  T* dx = bottom[0]->mutable_cpu_diff();
  parallel_for(ctx, bottom[0]->count(),
               [&](int64_t i) { kernels::exp_backward(i, args, y, dy, dx); });
}

#if CREMA_WITH_CUDA
template <class T>
void ExpLayer<T>::forward_gpu(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  cuda::launch_exp_forward<T>(ctx.cuda_stream(), bottom[0]->count(),
                              kernels::ExpArgs<T>{inner_scale_, outer_scale_},
                              bottom[0]->gpu_data(ctx), top[0]->mutable_gpu_data(ctx));
}

template <class T>
void ExpLayer<T>::backward_gpu(Context& ctx, const TensorVec<T>& top,
                               const std::vector<bool>& propagate_down,
                               const TensorVec<T>& bottom) {
  if (!propagate_down[0]) return;
  cuda::launch_exp_backward<T>(
      ctx.cuda_stream(), bottom[0]->count(), kernels::ExpArgs<T>{inner_scale_, outer_scale_},
      top[0]->gpu_data(ctx), top[0]->gpu_diff(ctx), bottom[0]->mutable_gpu_diff(ctx));
}
#endif

CREMA_INSTANTIATE_CLASS(ExpLayer);

}  // namespace crema
