#include "ops/log_layer.h"

#include <cmath>

#include "core/parallel.h"
#include "cuda_kernels/log.h"

namespace crema {

template <class T>
void LogLayer<T>::layer_setup(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  const LogParameter& p = this->layer_param().log_param();
  const double base = p.base();
  CREMA_LAYER_CHECK(base == -1 || base > 0, "log_param.base must be > 0 (or -1 for e), got ", base);
  CREMA_LAYER_CHECK(base != 1,
                    "log_param.base is 1, which has no logarithm (ln 1 = 0); use a "
                    "base > 0 other than 1, or -1 for e");
  base_scale_ = static_cast<T>(base == -1 ? 1.0 : 1.0 / std::log(base));
  scale_ = static_cast<T>(p.scale());
  shift_ = static_cast<T>(p.shift());
  CREMA_LAYER_CHECK(top[0] != bottom[0],
                    "Log cannot run in-place (backward needs the input); give the layer a "
                    "separate top");
}

template <class T>
void LogLayer<T>::reshape(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  top[0]->reshape_like(*bottom[0]);
}

template <class T>
void LogLayer<T>::forward_cpu(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  const kernels::LogArgs<T> args{scale_, shift_, base_scale_};
  const T* x = bottom[0]->cpu_data();
  T* y = top[0]->mutable_cpu_data();
  parallel_for(ctx, bottom[0]->count(), [&](int64_t i) { kernels::log_forward(i, args, x, y); });
}

template <class T>
void LogLayer<T>::backward_cpu(Context& ctx, const TensorVec<T>& top,
                               const std::vector<bool>& propagate_down,
                               const TensorVec<T>& bottom) {
  if (!propagate_down[0]) return;
  const kernels::LogArgs<T> args{scale_, shift_, base_scale_};
  const T* x = bottom[0]->cpu_data();
  const T* dy = top[0]->cpu_diff();
  T* dx = bottom[0]->mutable_cpu_diff();
  parallel_for(ctx, bottom[0]->count(),
               [&](int64_t i) { kernels::log_backward(i, args, x, dy, dx); });
}

#if CREMA_WITH_CUDA
template <class T>
void LogLayer<T>::forward_gpu(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  cuda::launch_log_forward<T>(ctx.cuda_stream(), bottom[0]->count(),
                              kernels::LogArgs<T>{scale_, shift_, base_scale_},
                              bottom[0]->gpu_data(ctx), top[0]->mutable_gpu_data(ctx));
}

template <class T>
void LogLayer<T>::backward_gpu(Context& ctx, const TensorVec<T>& top,
                               const std::vector<bool>& propagate_down,
                               const TensorVec<T>& bottom) {
  if (!propagate_down[0]) return;
  cuda::launch_log_backward<T>(
      ctx.cuda_stream(), bottom[0]->count(), kernels::LogArgs<T>{scale_, shift_, base_scale_},
      bottom[0]->gpu_data(ctx), top[0]->gpu_diff(ctx), bottom[0]->mutable_gpu_diff(ctx));
}
#endif

CREMA_INSTANTIATE_CLASS(LogLayer);

}  // namespace crema
