#include "ops/concat_layer.h"

#include <algorithm>

#include "ops/gpu_copy.h"

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
  if (bottom.size() == 1) return;  // the top shares the bottom
  T* y = top[0]->mutable_cpu_data();
  for_each_block(bottom, *top[0], [&](size_t i, int64_t width, int64_t offset, int64_t pitch) {
    const T* x = bottom[i]->cpu_data();
    for (int64_t n = 0; n < outer_; ++n)
      std::copy(x + n * width, x + (n + 1) * width, y + n * pitch + offset);
  });
}

template <class T>
void ConcatLayer<T>::backward_cpu(Context& ctx, const TensorVec<T>& top,
                                  const std::vector<bool>& propagate_down,
                                  const TensorVec<T>& bottom) {
  // A single bottom shares its diff with the top.
  if (bottom.size() == 1) return;
  const T* dy = top[0]->cpu_diff();
  for_each_block(bottom, *top[0], [&](size_t i, int64_t width, int64_t offset, int64_t pitch) {
    if (!propagate_down[i]) return;
    T* dx = bottom[i]->mutable_cpu_diff();
    for (int64_t n = 0; n < outer_; ++n)
      std::copy(dy + n * pitch + offset, dy + n * pitch + offset + width, dx + n * width);
  });
}

#if CREMA_WITH_CUDA
template <class T>
void ConcatLayer<T>::forward_gpu(Context& ctx, const TensorVec<T>& bottom,
                                 const TensorVec<T>& top) {
  if (bottom.size() == 1) return;
  T* y = top[0]->mutable_gpu_data(ctx);
  for_each_block(bottom, *top[0], [&](size_t i, int64_t width, int64_t offset, int64_t pitch) {
    cuda::copy_rows<T>(ctx, outer_, width, bottom[i]->gpu_data(ctx), width, y + offset, pitch);
  });
}

template <class T>
void ConcatLayer<T>::backward_gpu(Context& ctx, const TensorVec<T>& top,
                                  const std::vector<bool>& propagate_down,
                                  const TensorVec<T>& bottom) {
  if (bottom.size() == 1) return;
  const T* dy = top[0]->gpu_diff(ctx);
  for_each_block(bottom, *top[0], [&](size_t i, int64_t width, int64_t offset, int64_t pitch) {
    if (propagate_down[i])
      cuda::copy_rows<T>(ctx, outer_, width, dy + offset, pitch, bottom[i]->mutable_gpu_diff(ctx),
                         width);
  });
}
#endif

CREMA_INSTANTIATE_CLASS(ConcatLayer);

}  // namespace crema
