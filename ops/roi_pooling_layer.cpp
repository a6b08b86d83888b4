#include "ops/roi_pooling_layer.h"

#include <cmath>

#include "core/parallel.h"
#include "ops/roi_input.h"

namespace crema {

template <class T>
void ROIPoolingLayer<T>::set_common_params(uint32_t pooled_h, uint32_t pooled_w,
                                           float spatial_scale, float spatial_shift,
                                           const char* param_name) {
  CREMA_LAYER_CHECK(pooled_h > 0 && pooled_w > 0, param_name, ".pooled_h and ", param_name,
                    ".pooled_w must be > 0, got ", pooled_h, "x", pooled_w,
                    "; set the output size, e.g. pooled_h: 7 pooled_w: 7");
  CREMA_LAYER_CHECK(std::isfinite(spatial_scale) && spatial_scale > 0, param_name,
                    ".spatial_scale must be finite and > 0, got ", spatial_scale,
                    " (it is 1 / the feature stride, e.g. 0.0625)");
  CREMA_LAYER_CHECK(std::isfinite(spatial_shift), param_name, ".spatial_shift must be finite, got ",
                    spatial_shift);
  args_.pooled_h = pooled_h;
  args_.pooled_w = pooled_w;
  args_.spatial_scale = static_cast<T>(spatial_scale);
  args_.spatial_shift = static_cast<T>(spatial_shift);
}

template <class T>
void ROIPoolingLayer<T>::layer_setup(Context& ctx, const TensorVec<T>& bottom,
                                     const TensorVec<T>& top) {
  const ROIPoolingParameter& p = this->layer_param().roi_pooling_param();
  set_common_params(p.pooled_h(), p.pooled_w(), p.spatial_scale(), p.spatial_shift(),
                    "roi_pooling_param");
}

template <class T>
void ROIPoolingLayer<T>::reshape(Context& ctx, const TensorVec<T>& bottom,
                                 const TensorVec<T>& top) {
  const Tensor<T>& x = *bottom[0];
  args_.num_rois = check_roi_bottoms(x, *bottom[1]);
  args_.batch = x.shape(0);
  args_.channels = x.shape(1);
  args_.height = x.shape(2);
  args_.width = x.shape(3);
  top[0]->reshape({args_.num_rois, args_.channels, args_.pooled_h, args_.pooled_w});
  boxes_.resize(args_.num_rois);
  argmax_.resize(top[0]->count());
}

template <class T>
void ROIPoolingLayer<T>::forward_cpu(Context& ctx, const TensorVec<T>& bottom,
                                     const TensorVec<T>& top) {
  const T* rois = bottom[1]->cpu_data();
  check_roi_batch_indices(rois, args_.num_rois, args_.batch);
  const auto a = args_;
  auto* boxes = boxes_.data();
  parallel_for(ctx, a.num_rois, [&](int64_t i) { kernels::roi_pool_geometry(i, a, rois, boxes); });
  const T* x = bottom[0]->cpu_data();
  T* y = top[0]->mutable_cpu_data();
  int32_t* argmax = argmax_.data();
  parallel_for(ctx, top[0]->count(),
               [&](int64_t i) { kernels::roi_pool_forward(i, a, boxes, x, y, argmax); });
}

template <class T>
void ROIPoolingLayer<T>::backward_cpu(Context& ctx, const TensorVec<T>& top,
                                      const std::vector<bool>& propagate_down,
                                      const TensorVec<T>& bottom) {
  if (!propagate_down[0]) return;
  const auto a = args_;
  const auto* boxes = boxes_.data();
  const int32_t* argmax = argmax_.data();
  const T* dy = top[0]->cpu_diff();
  T* dx = bottom[0]->mutable_cpu_diff();
  parallel_for(ctx, bottom[0]->count(),
               [&](int64_t i) { kernels::roi_pool_backward(i, a, boxes, argmax, dy, dx); });
}

#if CREMA_WITH_CUDA
template <class T>
void ROIPoolingLayer<T>::forward_gpu(Context& ctx, const TensorVec<T>& bottom,
                                     const TensorVec<T>& top) {
  // The same DataError as the CPU path: the RoIs (R x 5 values) are read back for the check.
  check_roi_batch_indices(bottom[1]->cpu_data(), args_.num_rois, args_.batch);
  const auto a = args_;
  kernels::RoiPoolBox<T>* boxes = gpu_boxes_.resize(ctx, a.num_rois);
  cuda::launch_roi_pool_geometry<T>(ctx.cuda_stream(), a.num_rois, a, bottom[1]->gpu_data(ctx),
                                    boxes);
  const int64_t n = top[0]->count();
  cuda::launch_roi_pool_forward<T>(ctx.cuda_stream(), n, a, boxes, bottom[0]->gpu_data(ctx),
                                   top[0]->mutable_gpu_data(ctx), gpu_argmax_.resize(ctx, n));
}

template <class T>
void ROIPoolingLayer<T>::backward_gpu(Context& ctx, const TensorVec<T>& top,
                                      const std::vector<bool>& propagate_down,
                                      const TensorVec<T>& bottom) {
  if (!propagate_down[0]) return;
  cuda::launch_roi_pool_backward<T>(ctx.cuda_stream(), bottom[0]->count(), args_,
                                    gpu_boxes_.data(ctx), gpu_argmax_.data(ctx),
                                    top[0]->gpu_diff(ctx), bottom[0]->mutable_gpu_diff(ctx));
}
#endif

CREMA_INSTANTIATE_CLASS(ROIPoolingLayer);

}  // namespace crema
