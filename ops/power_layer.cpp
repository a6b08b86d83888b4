#include "ops/power_layer.h"

#include "core/parallel.h"
#include "cuda_kernels/power.h"

namespace crema {

template <class T>
void PowerLayer<T>::layer_setup(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  const PowerParameter& p = this->layer_param().power_param();
  power_ = static_cast<T>(p.power());
  scale_ = static_cast<T>(p.scale());
  shift_ = static_cast<T>(p.shift());
  const bool needs_input = power_ != T(1) && power_ * scale_ != T(0);
  CREMA_LAYER_CHECK(top[0] != bottom[0] || !needs_input, "an in-place Power layer with power ",
                    power_, " and scale ", scale_,
                    " cannot compute its gradient (it needs the input, which the output "
                    "overwrote); give the layer a separate top");
}

template <class T>
void PowerLayer<T>::reshape(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  if (top[0] != bottom[0]) top[0]->reshape_like(*bottom[0]);
}

template <class T>
void PowerLayer<T>::forward_cpu(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  const kernels::PowerArgs<T> args{power_, scale_, shift_};
  const T* x = bottom[0]->cpu_data();
  T* y = top[0]->mutable_cpu_data();
  parallel_for(ctx, bottom[0]->count(), [&](int64_t i) { kernels::power_forward(i, args, x, y); });
}

template <class T>
void PowerLayer<T>::backward_cpu(Context& ctx, const TensorVec<T>& top,
                                 const std::vector<bool>& propagate_down,
                                 const TensorVec<T>& bottom) {
  if (!propagate_down[0]) return;
  const kernels::PowerArgs<T> args{power_, scale_, shift_};
  const T* x = bottom[0]->cpu_data();  // not read in the in-place cases; see layer_setup
  const T* dy = top[0]->cpu_diff();
  T* dx = bottom[0]->mutable_cpu_diff();
  parallel_for(ctx, bottom[0]->count(),
               [&](int64_t i) { kernels::power_backward(i, args, x, dy, dx); });
}

#if CREMA_WITH_CUDA
template <class T>
void PowerLayer<T>::forward_gpu(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  cuda::launch_power_forward<T>(ctx.cuda_stream(), bottom[0]->count(),
                                kernels::PowerArgs<T>{power_, scale_, shift_},
                                bottom[0]->gpu_data(ctx), top[0]->mutable_gpu_data(ctx));
}

template <class T>
void PowerLayer<T>::backward_gpu(Context& ctx, const TensorVec<T>& top,
                                 const std::vector<bool>& propagate_down,
                                 const TensorVec<T>& bottom) {
  if (!propagate_down[0]) return;
  // As backward_cpu: x is not read in the in-place cases.
  cuda::launch_power_backward<T>(
      ctx.cuda_stream(), bottom[0]->count(), kernels::PowerArgs<T>{power_, scale_, shift_},
      bottom[0]->gpu_data(ctx), top[0]->gpu_diff(ctx), bottom[0]->mutable_gpu_diff(ctx));
}
#endif

CREMA_INSTANTIATE_CLASS(PowerLayer);

}  // namespace crema
