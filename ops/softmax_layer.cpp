#include "ops/softmax_layer.h"

#include "core/parallel.h"

namespace crema {

template <class T>
kernels::SoftmaxArgs softmax_view(const Tensor<T>& x, int axis) {
  const int n = x.num_axes();
  CREMA_LAYER_CHECK(axis >= -n && axis < n, "softmax_param.axis ", axis,
                    " is out of range for bottom 0 of shape ", x.shape_string(),
                    "; use an axis in [", -n, ", ", n, ")");
  const int a = axis < 0 ? axis + n : axis;
  kernels::SoftmaxArgs args;
  args.outer = x.count(0, a);
  args.channels = x.shape(a);
  args.inner = x.count(a + 1);
  return args;
}

template kernels::SoftmaxArgs softmax_view<float>(const Tensor<float>&, int);
template kernels::SoftmaxArgs softmax_view<double>(const Tensor<double>&, int);

template <class T>
void SoftmaxLayer<T>::reshape(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  args_ = softmax_view(*bottom[0], this->layer_param().softmax_param().axis());
  top[0]->reshape(bottom[0]->shape());
}

template <class T>
void SoftmaxLayer<T>::forward_cpu(Context& ctx, const TensorVec<T>& bottom,
                                  const TensorVec<T>& top) {
  const T* x = bottom[0]->cpu_data();
  T* y = top[0]->mutable_cpu_data();
  const kernels::SoftmaxArgs a = args_;
  parallel_for(ctx, a.outer * a.inner, [&](int64_t i) { kernels::softmax_forward(i, a, x, y); });
}

template <class T>
void SoftmaxLayer<T>::backward_cpu(Context& ctx, const TensorVec<T>& top,
                                   const std::vector<bool>& propagate_down,
                                   const TensorVec<T>& bottom) {
  if (!propagate_down[0]) return;
  const T* y = top[0]->cpu_data();
  const T* dy = top[0]->cpu_diff();
  T* dx = bottom[0]->mutable_cpu_diff();
  const kernels::SoftmaxArgs a = args_;
  parallel_for(ctx, a.outer * a.inner,
               [&](int64_t i) { kernels::softmax_backward(i, a, y, dy, dx); });
}

#if CREMA_WITH_CUDA
template <class T>
void SoftmaxLayer<T>::forward_gpu(Context& ctx, const TensorVec<T>& bottom,
                                  const TensorVec<T>& top) {
  if (bottom[0]->count() == 0) return;
  desc_.set_4d<T>(args_.outer, args_.channels, args_.inner, 1);
  // In place (top == bottom) passes x == y, as Caffe's cuDNN Softmax did.
  const T* x = bottom[0]->gpu_data(ctx);
  cudnn::check(cudnnSoftmaxForward(cudnn::handle(ctx), CUDNN_SOFTMAX_ACCURATE,
                                   CUDNN_SOFTMAX_MODE_CHANNEL, &cudnn::kOne<T>, desc_.get(), x,
                                   &cudnn::kZero<T>, desc_.get(), top[0]->mutable_gpu_data(ctx)),
               "cudnnSoftmaxForward");
}

template <class T>
void SoftmaxLayer<T>::backward_gpu(Context& ctx, const TensorVec<T>& top,
                                   const std::vector<bool>& propagate_down,
                                   const TensorVec<T>& bottom) {
  if (!propagate_down[0] || bottom[0]->count() == 0) return;
  desc_.set_4d<T>(args_.outer, args_.channels, args_.inner, 1);
  const T* y = top[0]->gpu_data(ctx);
  const T* dy = top[0]->gpu_diff(ctx);
  cudnn::check(
      cudnnSoftmaxBackward(cudnn::handle(ctx), CUDNN_SOFTMAX_ACCURATE, CUDNN_SOFTMAX_MODE_CHANNEL,
                           &cudnn::kOne<T>, desc_.get(), y, desc_.get(), dy, &cudnn::kZero<T>,
                           desc_.get(), bottom[0]->mutable_gpu_diff(ctx)),
      "cudnnSoftmaxBackward");
}
#endif

CREMA_INSTANTIATE_CLASS(SoftmaxLayer);

}  // namespace crema
