#include "ops/reduction_layer.h"

#include "core/parallel.h"

namespace crema {

template <class T>
void ReductionLayer<T>::reshape(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  const ReductionParameter& p = this->layer_param().reduction_param();
  const Tensor<T>& x = *bottom[0];
  const int num_axes = x.num_axes();
  CREMA_SHAPE_CHECK(p.axis() >= -num_axes && p.axis() < num_axes, "reduction_param.axis ", p.axis(),
                    " is out of range for bottom 0 of shape ", x.shape_string(),
                    "; use an axis in [", -num_axes, ", ", num_axes, ")");
  CREMA_LAYER_CHECK(top[0] != bottom[0], "cannot run in place; give the top its own name");
  const int axis = x.canonical_axis(p.axis());
  args_.num = x.count(0, axis);
  args_.dim = x.count(axis);
  args_.op = static_cast<kernels::ReductionOp>(p.operation());
  args_.scale = p.coeff();
  // An empty MEAN is 0 (the sum), not 0/0.
  if (p.operation() == ReductionParameter::MEAN && args_.dim > 0)
    args_.scale /= static_cast<double>(args_.dim);
  top[0]->reshape(std::vector<int64_t>(x.shape().begin(), x.shape().begin() + axis));
}

template <class T>
void ReductionLayer<T>::forward_cpu(Context& ctx, const TensorVec<T>& bottom,
                                    const TensorVec<T>& top) {
  const T* x = bottom[0]->cpu_data();
  T* y = top[0]->mutable_cpu_data();
  const kernels::ReductionArgs a = args_;
  parallel_for(ctx, a.num, [&](int64_t i) { kernels::reduction_forward(i, a, x, y); });
}

template <class T>
void ReductionLayer<T>::backward_cpu(Context& ctx, const TensorVec<T>& top,
                                     const std::vector<bool>& propagate_down,
                                     const TensorVec<T>& bottom) {
  if (!propagate_down[0]) return;
  const T* x = bottom[0]->cpu_data();
  const T* dy = top[0]->cpu_diff();
  T* dx = bottom[0]->mutable_cpu_diff();
  const kernels::ReductionArgs a = args_;
  parallel_for(ctx, bottom[0]->count(),
               [&](int64_t j) { kernels::reduction_backward(j, a, x, dy, dx); });
}

#if CREMA_WITH_CUDA
template <class T>
void ReductionLayer<T>::forward_gpu(Context& ctx, const TensorVec<T>& bottom,
                                    const TensorVec<T>& top) {
  cuda::launch_reduction_forward<T>(ctx.cuda_stream(), args_.num, args_, bottom[0]->gpu_data(ctx),
                                    top[0]->mutable_gpu_data(ctx));
}

template <class T>
void ReductionLayer<T>::backward_gpu(Context& ctx, const TensorVec<T>& top,
                                     const std::vector<bool>& propagate_down,
                                     const TensorVec<T>& bottom) {
  if (!propagate_down[0]) return;
  cuda::launch_reduction_backward<T>(ctx.cuda_stream(), bottom[0]->count(), args_,
                                     bottom[0]->gpu_data(ctx), top[0]->gpu_diff(ctx),
                                     bottom[0]->mutable_gpu_diff(ctx));
}
#endif

CREMA_INSTANTIATE_CLASS(ReductionLayer);

}  // namespace crema
