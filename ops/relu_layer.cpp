#include "ops/relu_layer.h"

#include "core/parallel.h"
#include "cuda_kernels/relu.h"

#if CREMA_WITH_CUDA
#include "core/cudnn_util.h"
#endif

namespace crema {

template <class T>
void ReLULayer<T>::layer_setup(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  negative_slope_ = static_cast<T>(this->layer_param().relu_param().negative_slope());
  // In-place, backward sees only the output; its sign equals the input's only when the slope is
  // not negative.
  CREMA_LAYER_CHECK(top[0] != bottom[0] || negative_slope_ >= T(0), "relu_param.negative_slope is ",
                    negative_slope_,
                    ", but an in-place ReLU needs negative_slope >= 0 (the gradient is recovered "
                    "from the output's sign); give the layer a separate top");
}

template <class T>
void ReLULayer<T>::reshape(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  if (top[0] != bottom[0]) top[0]->reshape_like(*bottom[0]);
}

template <class T>
void ReLULayer<T>::forward_cpu(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  const kernels::ReluArgs<T> args{negative_slope_};
  const T* x = bottom[0]->cpu_data();
  T* y = top[0]->mutable_cpu_data();
  parallel_for(ctx, bottom[0]->count(), [&](int64_t i) { kernels::relu_forward(i, args, x, y); });
}

template <class T>
void ReLULayer<T>::backward_cpu(Context& ctx, const TensorVec<T>& top,
                                const std::vector<bool>& propagate_down,
                                const TensorVec<T>& bottom) {
  if (!propagate_down[0]) return;
  const kernels::ReluArgs<T> args{negative_slope_};
  // The bottom data is the input, or the output when in-place; see layer_setup.
  const T* v = bottom[0]->cpu_data();
  const T* dy = top[0]->cpu_diff();
  T* dx = bottom[0]->mutable_cpu_diff();
  parallel_for(ctx, bottom[0]->count(),
               [&](int64_t i) { kernels::relu_backward(i, args, v, dy, dx); });
}

#if CREMA_WITH_CUDA
template <class T>
void ReLULayer<T>::forward_gpu(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  // cuDNN's ReLU has no leak: a negative slope runs the CPU path's body.
  if (negative_slope_ == T(0))
    return cudnn::activation_forward<T>(ctx, CUDNN_ACTIVATION_RELU, bottom[0]->count(),
                                        bottom[0]->gpu_data(ctx), top[0]->mutable_gpu_data(ctx));
  cuda::launch_relu_forward<T>(ctx.cuda_stream(), bottom[0]->count(),
                               kernels::ReluArgs<T>{negative_slope_}, bottom[0]->gpu_data(ctx),
                               top[0]->mutable_gpu_data(ctx));
}

template <class T>
void ReLULayer<T>::backward_gpu(Context& ctx, const TensorVec<T>& top,
                                const std::vector<bool>& propagate_down,
                                const TensorVec<T>& bottom) {
  if (!propagate_down[0]) return;
  // As backward_cpu: the bottom data is the input, or the output when in-place.
  if (negative_slope_ == T(0))
    return cudnn::activation_backward<T>(
        ctx, CUDNN_ACTIVATION_RELU, bottom[0]->count(), top[0]->gpu_data(ctx),
        top[0]->gpu_diff(ctx), bottom[0]->gpu_data(ctx), bottom[0]->mutable_gpu_diff(ctx));
  cuda::launch_relu_backward<T>(ctx.cuda_stream(), bottom[0]->count(),
                                kernels::ReluArgs<T>{negative_slope_}, bottom[0]->gpu_data(ctx),
                                top[0]->gpu_diff(ctx), bottom[0]->mutable_gpu_diff(ctx));
}
#endif

CREMA_INSTANTIATE_CLASS(ReLULayer);

}  // namespace crema
