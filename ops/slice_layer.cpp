#include "ops/slice_layer.h"

#include "core/parallel.h"

namespace crema {

template <class T>
void SliceLayer<T>::layer_setup(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  const SliceParameter& p = this->layer_param().slice_param();
  CREMA_LAYER_CHECK(!(p.has_axis() && p.has_slice_dim()),
                    "slice_param sets both axis and the deprecated slice_dim; keep only axis");
  const int tops = static_cast<int>(top.size());
  if (p.slice_point_size() > 0) {
    CREMA_LAYER_CHECK(p.slice_point_size() == tops - 1, "slice_param has ", p.slice_point_size(),
                      " slice_point values for ", tops, " tops; give one fewer than the tops (",
                      tops - 1, "), or none to split into equal parts");
    for (int i = 0; i < p.slice_point_size(); ++i) {
      const uint32_t prev = i == 0 ? 0 : p.slice_point(i - 1);
      CREMA_LAYER_CHECK(p.slice_point(i) > prev, "slice_point ", i, " is ", p.slice_point(i),
                        " but must be greater than ", prev,
                        "; slice points must be positive and strictly increasing");
    }
  }
}

template <class T>
void SliceLayer<T>::reshape(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  const SliceParameter& p = this->layer_param().slice_param();
  const Tensor<T>& b = *bottom[0];
  const int num_axes = b.num_axes();
  int axis = 0;
  if (p.has_slice_dim()) {
    CREMA_SHAPE_CHECK(p.slice_dim() < static_cast<uint32_t>(num_axes), "slice_param.slice_dim ",
                      p.slice_dim(), " is out of range for bottom 0 of shape ", b.shape_string(),
                      " (", num_axes, " axes)");
    axis = static_cast<int>(p.slice_dim());
  } else {
    CREMA_SHAPE_CHECK(p.axis() >= -num_axes && p.axis() < num_axes, "slice_param.axis ", p.axis(),
                      " is out of range for bottom 0 of shape ", b.shape_string(),
                      "; use an axis in [", -num_axes, ", ", num_axes, ")");
    axis = b.canonical_axis(p.axis());
  }
  const int64_t dim = b.shape(axis);
  const int64_t tops = static_cast<int64_t>(top.size());
  std::vector<int64_t> sizes;
  if (p.slice_point_size() > 0) {
    const int64_t last = p.slice_point(p.slice_point_size() - 1);
    CREMA_SHAPE_CHECK(last < dim, "slice_point ", last, " is not inside axis ", axis,
                      " of bottom 0 (shape ", b.shape_string(), ", size ", dim,
                      "); every slice point must be below ", dim);
    int64_t prev = 0;
    for (int i = 0; i < p.slice_point_size(); ++i) {
      sizes.push_back(p.slice_point(i) - prev);
      prev = p.slice_point(i);
    }
    sizes.push_back(dim - prev);
  } else {
    CREMA_SHAPE_CHECK(dim % tops == 0, "axis ", axis, " of bottom 0 (shape ", b.shape_string(),
                      ") has size ", dim, ", which does not split into ", tops,
                      " equal parts; give slice_point values");
    sizes.assign(tops, dim / tops);
  }
  const int64_t outer = b.count(0, axis), inner = b.count(axis + 1);
  args_.clear();
  int64_t offset = 0;
  for (int64_t k = 0; k < tops; ++k) {
    CREMA_LAYER_CHECK(top[k] != bottom[0], "cannot run in place (top ", k,
                      " is bottom 0); give the top its own name");
    std::vector<int64_t> shape = b.shape();
    shape[axis] = sizes[k];
    top[k]->reshape(shape);
    args_.push_back({outer, dim, sizes[k], offset, inner});
    offset += sizes[k];
  }
  if (tops == 1) {
    top[0]->share_data(b);
    top[0]->share_diff(b);
  }
}

template <class T>
void SliceLayer<T>::forward_cpu(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  if (top.size() == 1) return;
  const T* x = bottom[0]->cpu_data();
  for (size_t k = 0; k < top.size(); ++k) {
    const kernels::SliceArgs a = args_[k];
    T* y = top[k]->mutable_cpu_data();
    parallel_for(ctx, top[k]->count(), [&](int64_t i) { kernels::slice_forward(i, a, x, y); });
  }
}

template <class T>
void SliceLayer<T>::backward_cpu(Context& ctx, const TensorVec<T>& top,
                                 const std::vector<bool>& propagate_down,
                                 const TensorVec<T>& bottom) {
  // A single top shares its diff with the bottom.
  if (!propagate_down[0] || top.size() == 1) return;
  T* dx = bottom[0]->mutable_cpu_diff();
  for (size_t k = 0; k < top.size(); ++k) {
    const kernels::SliceArgs a = args_[k];
    const T* dy = top[k]->cpu_diff();
    parallel_for(ctx, top[k]->count(), [&](int64_t i) { kernels::slice_backward(i, a, dy, dx); });
  }
}

#if CREMA_WITH_CUDA
template <class T>
void SliceLayer<T>::forward_gpu(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  if (top.size() == 1) return;
  for (size_t k = 0; k < top.size(); ++k)
    cuda::launch_slice_forward<T>(ctx.cuda_stream(), top[k]->count(), args_[k],
                                  bottom[0]->gpu_data(ctx), top[k]->mutable_gpu_data(ctx));
}

template <class T>
void SliceLayer<T>::backward_gpu(Context& ctx, const TensorVec<T>& top,
                                 const std::vector<bool>& propagate_down,
                                 const TensorVec<T>& bottom) {
  if (!propagate_down[0] || top.size() == 1) return;
  for (size_t k = 0; k < top.size(); ++k)
    cuda::launch_slice_backward<T>(ctx.cuda_stream(), top[k]->count(), args_[k],
                                   top[k]->gpu_diff(ctx), bottom[0]->mutable_gpu_diff(ctx));
}
#endif

CREMA_INSTANTIATE_CLASS(SliceLayer);

}  // namespace crema
