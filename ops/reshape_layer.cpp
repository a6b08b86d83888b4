#include "ops/reshape_layer.h"

namespace crema {

template <class T>
void ReshapeLayer<T>::layer_setup(Context& ctx, const TensorVec<T>& bottom,
                                  const TensorVec<T>& top) {
  CREMA_LAYER_CHECK(top[0] != bottom[0], "cannot run in-place; give the layer a separate top");
  const ReshapeParameter& p = this->layer_param().reshape_param();
  CREMA_LAYER_CHECK(p.num_axes() >= -1, "reshape_param.num_axes must be >= 0, or -1 for all ",
                    "axes from axis on, got ", p.num_axes());
  copy_axes_.clear();
  inferred_axis_ = -1;
  constant_count_ = 1;
  for (int i = 0; i < p.shape().dim_size(); ++i) {
    const int64_t d = p.shape().dim(i);
    CREMA_LAYER_CHECK(d >= -1, "reshape_param.shape dim ", i, " is ", d,
                      "; dims must be positive, 0 (copy the bottom's) or -1 (infer)");
    if (d == 0) {
      copy_axes_.push_back(i);
    } else if (d == -1) {
      CREMA_LAYER_CHECK(inferred_axis_ == -1, "reshape_param.shape has -1 at dims ", inferred_axis_,
                        " and ", i, "; at most one dim can be inferred");
      inferred_axis_ = i;
    } else {
      CREMA_LAYER_CHECK(!__builtin_mul_overflow(constant_count_, d, &constant_count_),
                        "reshape_param.shape has more elements than fit in 64 bits");
    }
  }
}

template <class T>
void ReshapeLayer<T>::reshape(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  const ReshapeParameter& p = this->layer_param().reshape_param();
  const Tensor<T>& b = *bottom[0];
  const int nb = b.num_axes();
  // Negative axis counts from the end, where -1 means "after the last axis".
  const int start = p.axis() >= 0 ? p.axis() : nb + p.axis() + 1;
  CREMA_SHAPE_CHECK(start >= 0 && start <= nb, "reshape_param.axis ", p.axis(),
                    " is out of range for bottom of shape ", b.shape_string(), "; use [", -nb - 1,
                    ", ", nb, "]");
  const int end = p.num_axes() == -1 ? nb : start + p.num_axes();
  CREMA_SHAPE_CHECK(end <= nb, "reshape_param axis ", p.axis(), " + num_axes ", p.num_axes(),
                    " goes past the last axis of bottom of shape ", b.shape_string());
  const BlobShape& s = p.shape();
  std::vector<int64_t> shape(b.shape().begin(), b.shape().begin() + start);
  shape.insert(shape.end(), s.dim().begin(), s.dim().end());
  shape.insert(shape.end(), b.shape().begin() + end, b.shape().end());
  for (int c : copy_axes_) {
    CREMA_SHAPE_CHECK(start + c < nb, "reshape_param.shape dim ", c,
                      " is 0 (copy), but bottom of shape ", b.shape_string(), " has no axis ",
                      start + c, " to copy");
    shape[start + c] = b.shape(start + c);
  }
  if (inferred_axis_ >= 0) {
    int64_t known = constant_count_;
    bool too_big = __builtin_mul_overflow(known, b.count(0, start), &known) ||
                   __builtin_mul_overflow(known, b.count(end), &known);
    for (int c : copy_axes_)
      too_big = too_big || __builtin_mul_overflow(known, shape[start + c], &known);
    CREMA_SHAPE_CHECK(!too_big && known != 0 && b.count() % known == 0,
                      "cannot infer the -1 dim of ", "reshape_param.shape: bottom of shape ",
                      b.shape_string(), " has ", b.count(),
                      " elements, not a multiple of the other dims' product ", known);
    shape[start + inferred_axis_] = b.count() / known;
  }
  int64_t count = 1;
  bool overflow = false;
  for (int64_t d : shape) overflow = overflow || __builtin_mul_overflow(count, d, &count);
  CREMA_SHAPE_CHECK(!overflow && count == b.count(), "reshape_param.shape gives top shape ",
                    shape_string(shape), ", but bottom has shape ", b.shape_string(),
                    "; the element counts must be equal");
  top[0]->reshape(shape);
  top[0]->share_data(b);
  top[0]->share_diff(b);
}

CREMA_INSTANTIATE_CLASS(ReshapeLayer);

}  // namespace crema
