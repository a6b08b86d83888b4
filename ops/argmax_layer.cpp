#include "ops/argmax_layer.h"

#include "core/parallel.h"

namespace crema {

template <class T>
void ArgMaxLayer<T>::layer_setup(Context& ctx, const TensorVec<T>& bottom,
                                 const TensorVec<T>& top) {
  const ArgMaxParameter& p = this->layer_param().argmax_param();
  CREMA_LAYER_CHECK(p.top_k() >= 1, "argmax_param.top_k must be >= 1, got ", p.top_k());
}

template <class T>
void ArgMaxLayer<T>::reshape(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  const ArgMaxParameter& p = this->layer_param().argmax_param();
  const Tensor<T>& x = *bottom[0];
  const int num_axes = x.num_axes();
  CREMA_SHAPE_CHECK(num_axes >= 1, "bottom 0 is a scalar; ArgMax needs at least one axis");
  CREMA_LAYER_CHECK(top[0] != bottom[0], "cannot run in place; give the top its own name");
  kernels::ArgMaxArgs a;
  a.top_k = p.top_k();
  a.out_max_val = p.out_max_val();
  a.has_axis = p.has_axis();
  std::vector<int64_t> shape;
  if (a.has_axis) {
    CREMA_SHAPE_CHECK(p.axis() >= -num_axes && p.axis() < num_axes, "argmax_param.axis ", p.axis(),
                      " is out of range for bottom 0 of shape ", x.shape_string(),
                      "; use an axis in [", -num_axes, ", ", num_axes, ")");
    const int axis = x.canonical_axis(p.axis());
    a.dim = x.shape(axis);
    a.axis_dist = x.count(axis + 1);
    CREMA_SHAPE_CHECK(a.top_k <= a.dim, "argmax_param.top_k ", a.top_k, " exceeds the ", a.dim,
                      " values along axis ", axis, " of bottom 0 (shape ", x.shape_string(), ")");
    shape = x.shape();
    shape[axis] = a.top_k;
  } else {
    a.dim = x.count(1);
    a.axis_dist = 1;
    CREMA_SHAPE_CHECK(a.top_k <= a.dim, "argmax_param.top_k ", a.top_k, " exceeds the ", a.dim,
                      " values of each item of bottom 0 (shape ", x.shape_string(), ")");
    shape.assign(std::max(num_axes, 3), 1);
    shape[0] = x.shape(0);
    shape[1] = a.out_max_val ? 2 : 1;
    shape[2] = a.top_k;
  }
  a.num = a.dim > 0 ? x.count() / a.dim : 0;
  args_ = a;
  top[0]->reshape(shape);
}

template <class T>
void ArgMaxLayer<T>::forward_cpu(Context& ctx, const TensorVec<T>& bottom,
                                 const TensorVec<T>& top) {
  const T* x = bottom[0]->cpu_data();
  T* y = top[0]->mutable_cpu_data();
  const kernels::ArgMaxArgs a = args_;
  parallel_for(ctx, a.num, [&](int64_t i) { kernels::argmax_forward(i, a, x, y); });
}

template <class T>
void ArgMaxLayer<T>::backward_cpu(Context& ctx, const TensorVec<T>& top,
                                  const std::vector<bool>& propagate_down,
                                  const TensorVec<T>& bottom) {
  refuse_gradient(propagate_down);
}

template <class T>
void ArgMaxLayer<T>::refuse_gradient(const std::vector<bool>& propagate_down) const {
  CREMA_LAYER_CHECK(!propagate_down[0],
                    "ArgMax has no gradient; set propagate_down: false for its bottom or keep "
                    "its output away from the loss");
}

#if CREMA_WITH_CUDA
template <class T>
void ArgMaxLayer<T>::forward_gpu(Context& ctx, const TensorVec<T>& bottom,
                                 const TensorVec<T>& top) {
  cuda::launch_argmax_forward<T>(ctx.cuda_stream(), args_.num, args_, bottom[0]->gpu_data(ctx),
                                 top[0]->mutable_gpu_data(ctx));
}

template <class T>
void ArgMaxLayer<T>::backward_gpu(Context& ctx, const TensorVec<T>& top,
                                  const std::vector<bool>& propagate_down,
                                  const TensorVec<T>& bottom) {
  refuse_gradient(propagate_down);
}
#endif

CREMA_INSTANTIATE_CLASS(ArgMaxLayer);

}  // namespace crema
