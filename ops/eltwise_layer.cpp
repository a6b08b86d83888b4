#include "ops/eltwise_layer.h"

#include "core/parallel.h"

namespace crema {

template <class T>
void EltwiseLayer<T>::layer_setup(Context& ctx, const TensorVec<T>& bottom,
                                  const TensorVec<T>& top) {
  const EltwiseParameter& p = this->layer_param().eltwise_param();
  const int nb = static_cast<int>(bottom.size());
  CREMA_LAYER_CHECK(p.coeff_size() == 0 || p.operation() == EltwiseParameter::SUM,
                    "eltwise_param.coeff applies only to operation SUM, got ", p.coeff_size(),
                    " coeff values with operation ",
                    EltwiseParameter::EltwiseOp_Name(p.operation()),
                    "; remove the coeff lines or use operation: SUM");
  CREMA_LAYER_CHECK(p.coeff_size() == 0 || p.coeff_size() == nb, "eltwise_param has ",
                    p.coeff_size(), " coeff values for ", nb,
                    " bottoms; give one per bottom, or none for all 1");
  coeff_.reshape({nb});
  coeff_.set_data(T(1));
  T* coeff = coeff_.mutable_cpu_data();
  for (int i = 0; i < p.coeff_size(); ++i) coeff[i] = static_cast<T>(p.coeff(i));
  args_.op = static_cast<kernels::EltwiseOp>(p.operation());
  args_.num_bottoms = nb;
  args_.stable_prod_grad = p.stable_prod_grad();
}

template <class T>
void EltwiseLayer<T>::reshape(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  for (size_t i = 0; i < bottom.size(); ++i) {
    CREMA_LAYER_CHECK(top[0] != bottom[i], "cannot run in-place (top is bottom ", i,
                      "); give the layer a separate top");
    CREMA_SHAPE_CHECK(bottom[i]->shape() == bottom[0]->shape(), "bottom ", i, " has shape ",
                      bottom[i]->shape_string(), " but bottom 0 has shape ",
                      bottom[0]->shape_string(), "; all Eltwise inputs must have the same shape");
  }
  top[0]->reshape_like(*bottom[0]);
  if (args_.op == kernels::EltwiseOp::kMax) {
    const size_t bytes = static_cast<size_t>(bottom[0]->count()) * sizeof(int32_t);
    if (!arg_ || arg_->size() != bytes) arg_ = std::make_unique<SyncedMemory>(bytes);
  }
}

template <class T>
const T* const* EltwiseLayer<T>::pointer_table(Context& ctx, const TensorVec<T>& bottom) {
  const size_t bytes = bottom.size() * sizeof(const T*);
  if (!ptrs_ || ptrs_->size() != bytes) ptrs_ = std::make_unique<SyncedMemory>(bytes);
  auto* host = static_cast<const T**>(ptrs_->mutable_cpu_data());
  for (size_t i = 0; i < bottom.size(); ++i)
    host[i] = ctx.on_gpu() ? bottom[i]->gpu_data(ctx) : bottom[i]->cpu_data();
  if (!ctx.on_gpu()) return host;
  return static_cast<const T* const*>(ptrs_->gpu_data(ctx.device, ctx.cuda_stream()));
}

template <class T>
void EltwiseLayer<T>::forward_cpu(Context& ctx, const TensorVec<T>& bottom,
                                  const TensorVec<T>& top) {
  const kernels::EltwiseArgs args = args_;
  const T* const* x = pointer_table(ctx, bottom);
  const T* coeff = coeff_.cpu_data();
  T* y = top[0]->mutable_cpu_data();
  int32_t* arg = arg_ ? static_cast<int32_t*>(arg_->mutable_cpu_data()) : nullptr;
  parallel_for(ctx, top[0]->count(),
               [&](int64_t i) { kernels::eltwise_forward(i, args, x, coeff, y, arg); });
}

template <class T>
void EltwiseLayer<T>::backward_cpu(Context& ctx, const TensorVec<T>& top,
                                   const std::vector<bool>& propagate_down,
                                   const TensorVec<T>& bottom) {
  const kernels::EltwiseArgs args = args_;
  const T* const* x = pointer_table(ctx, bottom);
  const T* coeff = coeff_.cpu_data();
  const T* y = top[0]->cpu_data();
  const T* dy = top[0]->cpu_diff();
  const int32_t* arg = arg_ ? static_cast<const int32_t*>(arg_->cpu_data()) : nullptr;
  for (int b = 0; b < static_cast<int>(bottom.size()); ++b) {
    if (!propagate_down[b]) continue;
    T* dx = bottom[b]->mutable_cpu_diff();
    parallel_for(ctx, top[0]->count(), [&](int64_t i) {
      kernels::eltwise_backward(i, args, b, x, coeff, y, dy, arg, dx);
    });
  }
}

#if CREMA_WITH_CUDA
template <class T>
void EltwiseLayer<T>::forward_gpu(Context& ctx, const TensorVec<T>& bottom,
                                  const TensorVec<T>& top) {
  const T* const* x = pointer_table(ctx, bottom);
  int32_t* arg =
      arg_ ? static_cast<int32_t*>(arg_->mutable_gpu_data(ctx.device, ctx.cuda_stream())) : nullptr;
  cuda::launch_eltwise_forward<T>(ctx.cuda_stream(), top[0]->count(), args_, x,
                                  coeff_.gpu_data(ctx), top[0]->mutable_gpu_data(ctx), arg);
}

template <class T>
void EltwiseLayer<T>::backward_gpu(Context& ctx, const TensorVec<T>& top,
                                   const std::vector<bool>& propagate_down,
                                   const TensorVec<T>& bottom) {
  const T* const* x = pointer_table(ctx, bottom);
  const int32_t* arg =
      arg_ ? static_cast<const int32_t*>(arg_->gpu_data(ctx.device, ctx.cuda_stream())) : nullptr;
  for (int b = 0; b < static_cast<int>(bottom.size()); ++b) {
    if (!propagate_down[b]) continue;
    cuda::launch_eltwise_backward<T>(ctx.cuda_stream(), top[0]->count(), args_, b, x,
                                     coeff_.gpu_data(ctx), top[0]->gpu_data(ctx),
                                     top[0]->gpu_diff(ctx), arg, bottom[b]->mutable_gpu_diff(ctx));
  }
}
#endif

CREMA_INSTANTIATE_CLASS(EltwiseLayer);

}  // namespace crema
