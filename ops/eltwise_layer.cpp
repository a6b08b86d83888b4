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
  coeff_.assign(nb, T(1));
  for (int i = 0; i < p.coeff_size(); ++i) coeff_[i] = static_cast<T>(p.coeff(i));
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
  if (args_.op == kernels::EltwiseOp::kMax) arg_.resize(static_cast<size_t>(bottom[0]->count()));
}

template <class T>
void EltwiseLayer<T>::forward_cpu(Context& ctx, const TensorVec<T>& bottom,
                                  const TensorVec<T>& top) {
  ptrs_.resize(bottom.size());
  for (size_t i = 0; i < bottom.size(); ++i) ptrs_[i] = bottom[i]->cpu_data();
  const kernels::EltwiseArgs args = args_;
  const T* const* x = ptrs_.data();
  const T* coeff = coeff_.data();
  T* y = top[0]->mutable_cpu_data();
  int32_t* arg = arg_.data();
  parallel_for(ctx, top[0]->count(),
               [&](int64_t i) { kernels::eltwise_forward(i, args, x, coeff, y, arg); });
}

template <class T>
void EltwiseLayer<T>::backward_cpu(Context& ctx, const TensorVec<T>& top,
                                   const std::vector<bool>& propagate_down,
                                   const TensorVec<T>& bottom) {
  ptrs_.resize(bottom.size());
  for (size_t i = 0; i < bottom.size(); ++i) ptrs_[i] = bottom[i]->cpu_data();
  const kernels::EltwiseArgs args = args_;
  const T* const* x = ptrs_.data();
  const T* coeff = coeff_.data();
  const T* y = top[0]->cpu_data();
  const T* dy = top[0]->cpu_diff();
  const int32_t* arg = arg_.data();
  for (int b = 0; b < static_cast<int>(bottom.size()); ++b) {
    if (!propagate_down[b]) continue;
    T* dx = bottom[b]->mutable_cpu_diff();
    parallel_for(ctx, top[0]->count(), [&](int64_t i) {
      kernels::eltwise_backward(i, args, b, x, coeff, y, dy, arg, dx);
    });
  }
}

CREMA_INSTANTIATE_CLASS(EltwiseLayer);

}  // namespace crema
