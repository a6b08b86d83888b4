#include "ops/concat_layer.h"

#include <algorithm>

namespace crema {

template <class T>
void ConcatLayer<T>::layer_setup(Context& ctx, const TensorVec<T>& bottom,
                                 const TensorVec<T>& top) {
  const ConcatParameter& p = this->layer_param().concat_param();
  CREMA_LAYER_CHECK(!(p.has_axis() && p.has_concat_dim()),
                    "concat_param sets both axis and the deprecated concat_dim; keep only axis");
}

template <class T>
void ConcatLayer<T>::reshape(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  const ConcatParameter& p = this->layer_param().concat_param();
  const Tensor<T>& b0 = *bottom[0];
  const int num_axes = b0.num_axes();
  if (p.has_concat_dim()) {
    CREMA_SHAPE_CHECK(p.concat_dim() < static_cast<uint32_t>(num_axes), "concat_param.concat_dim ",
                      p.concat_dim(), " is out of range for bottom 0 of shape ", b0.shape_string(),
                      " (", num_axes, " axes)");
    axis_ = static_cast<int>(p.concat_dim());
  } else {
    CREMA_SHAPE_CHECK(p.axis() >= -num_axes && p.axis() < num_axes, "concat_param.axis ", p.axis(),
                      " is out of range for bottom 0 of shape ", b0.shape_string(),
                      "; use an axis in [", -num_axes, ", ", num_axes, ")");
    axis_ = b0.canonical_axis(p.axis());
  }
  std::vector<int64_t> top_shape = b0.shape();
  for (size_t i = 0; i < bottom.size(); ++i) {
    CREMA_LAYER_CHECK(top[0] != bottom[i], "cannot run in-place (top is bottom ", i,
                      "); give the layer a separate top");
    if (i == 0) continue;
    bool same = bottom[i]->num_axes() == num_axes;
    for (int j = 0; same && j < num_axes; ++j)
      same = j == axis_ || bottom[i]->shape(j) == b0.shape(j);
    CREMA_SHAPE_CHECK(same, "bottom ", i, " has shape ", bottom[i]->shape_string(),
                      " but bottom 0 has shape ", b0.shape_string(),
                      "; Concat inputs must match on every axis except the concat axis ", axis_);
    top_shape[axis_] += bottom[i]->shape(axis_);
  }
  outer_ = b0.count(0, axis_);
  inner_ = b0.count(axis_ + 1);
  top[0]->reshape(top_shape);
  if (bottom.size() == 1) {
    top[0]->share_data(b0);
    top[0]->share_diff(b0);
  }
}

template <class T>
void ConcatLayer<T>::forward_cpu(Context& ctx, const TensorVec<T>& bottom,
                                 const TensorVec<T>& top) {
  if (bottom.size() == 1) return;
  T* y = top[0]->mutable_cpu_data();
  const int64_t top_axis = top[0]->shape(axis_);
  int64_t offset = 0;
  for (auto* b : bottom) {
    const int64_t block = b->shape(axis_) * inner_;
    if (block > 0) {
      const T* x = b->cpu_data();
      for (int64_t n = 0; n < outer_; ++n)
        std::copy(x + n * block, x + (n + 1) * block, y + (n * top_axis + offset) * inner_);
    }
    offset += b->shape(axis_);
  }
}

template <class T>
void ConcatLayer<T>::backward_cpu(Context& ctx, const TensorVec<T>& top,
                                  const std::vector<bool>& propagate_down,
                                  const TensorVec<T>& bottom) {
  // A single bottom shares its diff with the top.
  if (bottom.size() == 1) return;
  const T* dy = top[0]->cpu_diff();
  const int64_t top_axis = top[0]->shape(axis_);
  int64_t offset = 0;
  for (size_t i = 0; i < bottom.size(); ++i) {
    const int64_t block = bottom[i]->shape(axis_) * inner_;
    if (propagate_down[i] && block > 0) {
      T* dx = bottom[i]->mutable_cpu_diff();
      for (int64_t n = 0; n < outer_; ++n) {
        const T* src = dy + (n * top_axis + offset) * inner_;
        std::copy(src, src + block, dx + n * block);
      }
    }
    offset += bottom[i]->shape(axis_);
  }
}

CREMA_INSTANTIATE_CLASS(ConcatLayer);

}  // namespace crema
