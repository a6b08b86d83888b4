#include "ops/flatten_layer.h"

namespace crema {

template <class T>
void FlattenLayer<T>::reshape(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  CREMA_LAYER_CHECK(top[0] != bottom[0], "cannot run in-place; give the layer a separate top");
  const FlattenParameter& p = this->layer_param().flatten_param();
  const Tensor<T>& b = *bottom[0];
  const int n = b.num_axes();
  auto in_range = [n](int axis) { return axis >= -n && axis < n; };
  CREMA_SHAPE_CHECK(in_range(p.axis()) && in_range(p.end_axis()), "flatten_param axis ", p.axis(),
                    " and end_axis ", p.end_axis(), " must lie in [", -n, ", ", n,
                    ") for bottom of shape ", b.shape_string());
  const int start = b.canonical_axis(p.axis());
  const int end = b.canonical_axis(p.end_axis());
  CREMA_SHAPE_CHECK(start <= end, "flatten_param.end_axis ", p.end_axis(), " (axis ", end,
                    ") comes before axis ", p.axis(), " (axis ", start, ") for bottom of shape ",
                    b.shape_string(), "; end_axis must not precede axis");
  std::vector<int64_t> shape(b.shape().begin(), b.shape().begin() + start);
  shape.push_back(b.count(start, end + 1));
  shape.insert(shape.end(), b.shape().begin() + end + 1, b.shape().end());
  top[0]->reshape(shape);
  top[0]->share_data(b);
  top[0]->share_diff(b);
}

CREMA_INSTANTIATE_CLASS(FlattenLayer);

}  // namespace crema
