#include "ops/crop_layer.h"

#include "core/parallel.h"
#include "ops/gpu_copy.h"

namespace crema {

template <class T>
void CropLayer<T>::reshape(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  const CropParameter& p = this->layer_param().crop_param();
  const Tensor<T>& x = *bottom[0];
  const Tensor<T>& ref = *bottom[1];
  const int num_axes = x.num_axes();
  CREMA_SHAPE_CHECK(ref.num_axes() == num_axes, "bottom 1 has shape ", ref.shape_string(),
                    " but bottom 0 has shape ", x.shape_string(),
                    "; Crop needs both bottoms to have the same number of axes");
  CREMA_SHAPE_CHECK(num_axes <= kernels::kCropMaxAxes, "bottom 0 has ", num_axes, " axes (shape ",
                    x.shape_string(), "); Crop supports at most ", kernels::kCropMaxAxes);
  CREMA_SHAPE_CHECK(p.axis() >= -num_axes && p.axis() < num_axes, "crop_param.axis ", p.axis(),
                    " is out of range for bottom 0 of shape ", x.shape_string(),
                    "; use an axis in [", -num_axes, ", ", num_axes, ")");
  const int axis = x.canonical_axis(p.axis());
  const int cropped = num_axes - axis;
  CREMA_LAYER_CHECK(p.offset_size() <= 1 || p.offset_size() == cropped, "crop_param has ",
                    p.offset_size(), " offset values but crops ", cropped, " axes (", axis, " to ",
                    num_axes - 1, "); give none, one for all, or one per cropped axis");
  CREMA_LAYER_CHECK(top[0] != bottom[0], "cannot run in place; give the top its own name");
  kernels::CropArgs a;
  a.num_axes = num_axes;
  std::vector<int64_t> shape = x.shape();
  for (int d = 0; d < num_axes; ++d) {
    a.bottom_shape[d] = x.shape(d);
    if (d < axis) {
      a.offset[d] = 0;
      a.top_shape[d] = x.shape(d);
      continue;
    }
    const int64_t off = p.offset_size() == 0   ? 0
                        : p.offset_size() == 1 ? p.offset(0)
                                               : p.offset(d - axis);
    CREMA_SHAPE_CHECK(off + ref.shape(d) <= x.shape(d), "crop at offset ", off, " on axis ", d,
                      " takes ", ref.shape(d), " elements (bottom 1 has shape ", ref.shape_string(),
                      ") but bottom 0 (shape ", x.shape_string(), ") has only ", x.shape(d),
                      "; lower the offset or crop a smaller reference");
    a.offset[d] = off;
    a.top_shape[d] = ref.shape(d);
    shape[d] = ref.shape(d);
  }
  args_ = a;
  top[0]->reshape(shape);
}

template <class T>
void CropLayer<T>::forward_cpu(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  const T* x = bottom[0]->cpu_data();
  T* y = top[0]->mutable_cpu_data();
  const kernels::CropArgs& a = args_;
  parallel_for(ctx, top[0]->count(), [&](int64_t i) { kernels::crop_forward(i, a, x, y); });
}

template <class T>
void CropLayer<T>::backward_cpu(Context& ctx, const TensorVec<T>& top,
                                const std::vector<bool>& propagate_down,
                                const TensorVec<T>& bottom) {
  // The reference's values never reach the top.
  if (propagate_down.size() > 1 && propagate_down[1]) bottom[1]->set_diff(T(0));
  if (!propagate_down[0]) return;
  const T* dy = top[0]->cpu_diff();
  T* dx = bottom[0]->mutable_cpu_diff();
  const kernels::CropArgs& a = args_;
  parallel_for(ctx, bottom[0]->count(), [&](int64_t j) { kernels::crop_backward(j, a, dy, dx); });
}

#if CREMA_WITH_CUDA
template <class T>
void CropLayer<T>::forward_gpu(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  cuda::launch_crop_forward<T>(ctx.cuda_stream(), top[0]->count(), args_, bottom[0]->gpu_data(ctx),
                               top[0]->mutable_gpu_data(ctx));
}

template <class T>
void CropLayer<T>::backward_gpu(Context& ctx, const TensorVec<T>& top,
                                const std::vector<bool>& propagate_down,
                                const TensorVec<T>& bottom) {
  // The reference's values never reach the top.
  if (propagate_down.size() > 1 && propagate_down[1])
    cuda::zero_bytes(ctx, bottom[1]->mutable_gpu_diff(ctx), bottom[1]->count() * sizeof(T));
  if (!propagate_down[0]) return;
  cuda::launch_crop_backward<T>(ctx.cuda_stream(), bottom[0]->count(), args_, top[0]->gpu_diff(ctx),
                                bottom[0]->mutable_gpu_diff(ctx));
}
#endif

CREMA_INSTANTIATE_CLASS(CropLayer);

}  // namespace crema
