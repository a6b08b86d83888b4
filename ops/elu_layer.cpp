#include "ops/elu_layer.h"

#include "core/parallel.h"
#include "cuda_kernels/elu.h"

namespace crema {

template <class T>
void ELULayer<T>::layer_setup(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  alpha_ = static_cast<T>(this->layer_param().elu_param().alpha());
  // In-place, backward tells x > 0 from the output, whose sign matches only for alpha >= 0.
  CREMA_LAYER_CHECK(top[0] != bottom[0] || alpha_ >= T(0), "elu_param.alpha is ", alpha_,
                    ", but an in-place ELU needs alpha >= 0 (the gradient is recovered from the "
                    "output's sign); give the layer a separate top");
}

template <class T>
void ELULayer<T>::reshape(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  if (top[0] != bottom[0]) top[0]->reshape_like(*bottom[0]);
}

template <class T>
void ELULayer<T>::forward_cpu(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  const kernels::EluArgs<T> args{alpha_};
  const T* x = bottom[0]->cpu_data();
  T* y = top[0]->mutable_cpu_data();
  parallel_for(ctx, bottom[0]->count(), [&](int64_t i) { kernels::elu_forward(i, args, x, y); });
}

template <class T>
void ELULayer<T>::backward_cpu(Context& ctx, const TensorVec<T>& top,
                               const std::vector<bool>& propagate_down,
                               const TensorVec<T>& bottom) {
  if (!propagate_down[0]) return;
  const kernels::EluArgs<T> args{alpha_};
  const T* v = bottom[0]->cpu_data();  // the output when in-place; see layer_setup
  const T* y = top[0]->cpu_data();
  const T* dy = top[0]->cpu_diff();
  T* dx = bottom[0]->mutable_cpu_diff();
  parallel_for(ctx, bottom[0]->count(),
               [&](int64_t i) { kernels::elu_backward(i, args, v, y, dy, dx); });
}

#if CREMA_WITH_CUDA
template <class T>
void ELULayer<T>::forward_gpu(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  cuda::launch_elu_forward<T>(ctx.cuda_stream(), bottom[0]->count(), kernels::EluArgs<T>{alpha_},
                              bottom[0]->gpu_data(ctx), top[0]->mutable_gpu_data(ctx));
}

template <class T>
void ELULayer<T>::backward_gpu(Context& ctx, const TensorVec<T>& top,
                               const std::vector<bool>& propagate_down,
                               const TensorVec<T>& bottom) {
  if (!propagate_down[0]) return;
  // As backward_cpu: the bottom data is the output when in-place.
  cuda::launch_elu_backward<T>(ctx.cuda_stream(), bottom[0]->count(), kernels::EluArgs<T>{alpha_},
                               bottom[0]->gpu_data(ctx), top[0]->gpu_data(ctx),
                               top[0]->gpu_diff(ctx), bottom[0]->mutable_gpu_diff(ctx));
}
#endif

CREMA_INSTANTIATE_CLASS(ELULayer);

}  // namespace crema
