#include "ops/tile_layer.h"

#include "core/parallel.h"

namespace crema {

template <class T>
void TileLayer<T>::layer_setup(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  const TileParameter& p = this->layer_param().tile_param();
  CREMA_LAYER_CHECK(p.has_tiles(), "tile_param.tiles is required; set tile_param { tiles: N }");
  CREMA_LAYER_CHECK(p.tiles() > 0, "tile_param.tiles must be > 0, got ", p.tiles());
}

template <class T>
void TileLayer<T>::reshape(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  const TileParameter& p = this->layer_param().tile_param();
  const Tensor<T>& x = *bottom[0];
  const int num_axes = x.num_axes();
  CREMA_SHAPE_CHECK(p.axis() >= -num_axes && p.axis() < num_axes, "tile_param.axis ", p.axis(),
                    " is out of range for bottom 0 of shape ", x.shape_string(),
                    "; use an axis in [", -num_axes, ", ", num_axes, ")");
  CREMA_LAYER_CHECK(top[0] != bottom[0], "cannot run in place; give the top its own name");
  const int axis = x.canonical_axis(p.axis());
  args_.outer = x.count(0, axis);
  args_.inner = x.count(axis);
  args_.tiles = p.tiles();
  std::vector<int64_t> shape = x.shape();
  shape[axis] *= p.tiles();
  top[0]->reshape(shape);
}

template <class T>
void TileLayer<T>::forward_cpu(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  const T* x = bottom[0]->cpu_data();
  T* y = top[0]->mutable_cpu_data();
  const kernels::TileArgs a = args_;
  parallel_for(ctx, top[0]->count(), [&](int64_t i) { kernels::tile_forward(i, a, x, y); });
}

template <class T>
void TileLayer<T>::backward_cpu(Context& ctx, const TensorVec<T>& top,
                                const std::vector<bool>& propagate_down,
                                const TensorVec<T>& bottom) {
  if (!propagate_down[0]) return;
  const T* dy = top[0]->cpu_diff();
  T* dx = bottom[0]->mutable_cpu_diff();
  const kernels::TileArgs a = args_;
  parallel_for(ctx, bottom[0]->count(), [&](int64_t j) { kernels::tile_backward(j, a, dy, dx); });
}

#if CREMA_WITH_CUDA
template <class T>
void TileLayer<T>::forward_gpu(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  cuda::launch_tile_forward<T>(ctx.cuda_stream(), top[0]->count(), args_, bottom[0]->gpu_data(ctx),
                               top[0]->mutable_gpu_data(ctx));
}

template <class T>
void TileLayer<T>::backward_gpu(Context& ctx, const TensorVec<T>& top,
                                const std::vector<bool>& propagate_down,
                                const TensorVec<T>& bottom) {
  if (!propagate_down[0]) return;
  cuda::launch_tile_backward<T>(ctx.cuda_stream(), bottom[0]->count(), args_, top[0]->gpu_diff(ctx),
                                bottom[0]->mutable_gpu_diff(ctx));
}
#endif

CREMA_INSTANTIATE_CLASS(TileLayer);

}  // namespace crema
