#include "ops/roi_align_layer.h"

#include <cmath>

#include "core/parallel.h"
#include "ops/roi_input.h"

namespace crema {

template <class T>
void ROIAlignLayer<T>::layer_setup(Context& ctx, const TensorVec<T>& bottom,
                                   const TensorVec<T>& top) {
  const ROIAlignParameter& p = this->layer_param().roi_align_param();
  CREMA_LAYER_CHECK(p.pooled_h() > 0 && p.pooled_w() > 0,
                    "roi_align_param.pooled_h and roi_align_param.pooled_w must be > 0, got ",
                    p.pooled_h(), "x", p.pooled_w(),
                    "; set the output size, e.g. pooled_h: 7 pooled_w: 7");
  CREMA_LAYER_CHECK(std::isfinite(p.spatial_scale()) && p.spatial_scale() > 0,
                    "roi_align_param.spatial_scale must be finite and > 0, got ", p.spatial_scale(),
                    " (it is 1 / the feature stride, e.g. 0.0625)");
  args_.pooled_h = p.pooled_h();
  args_.pooled_w = p.pooled_w();
  args_.spatial_scale = static_cast<T>(p.spatial_scale());
  args_.sampling_ratio = p.sampling_ratio();
  args_.aligned = p.aligned();
}

template <class T>
void ROIAlignLayer<T>::reshape(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  const Tensor<T>& x = *bottom[0];
  args_.num_rois = check_roi_bottoms(x, *bottom[1]);
  args_.batch = x.shape(0);
  args_.channels = x.shape(1);
  args_.height = x.shape(2);
  args_.width = x.shape(3);
  args_.channel_blocks =
      (args_.channels + kernels::kRoiAlignChannelBlock - 1) / kernels::kRoiAlignChannelBlock;
  top[0]->reshape({args_.num_rois, args_.channels, args_.pooled_h, args_.pooled_w});
  boxes_.resize(args_.num_rois);
}

template <class T>
void ROIAlignLayer<T>::forward_cpu(Context& ctx, const TensorVec<T>& bottom,
                                   const TensorVec<T>& top) {
  const T* rois = bottom[1]->cpu_data();
  check_roi_batch_indices(rois, args_.num_rois, args_.batch);
  const auto a = args_;
  auto* boxes = boxes_.data();
  parallel_for(ctx, a.num_rois, [&](int64_t i) { kernels::roi_align_geometry(i, a, rois, boxes); });
  const T* x = bottom[0]->cpu_data();
  T* y = top[0]->mutable_cpu_data();
  // One work item per RoI and block of channels.
  parallel_for_heavy(ctx, a.num_rois * a.channel_blocks,
                     [&](int64_t i) { kernels::roi_align_forward(i, a, boxes, x, y); });
}

template <class T>
void ROIAlignLayer<T>::backward_cpu(Context& ctx, const TensorVec<T>& top,
                                    const std::vector<bool>& propagate_down,
                                    const TensorVec<T>& bottom) {
  if (!propagate_down[0]) return;
  const auto a = args_;
  const auto* boxes = boxes_.data();
  const T* dy = top[0]->cpu_diff();
  T* dx = bottom[0]->mutable_cpu_diff();
  // One work item per feature row and block of channels.
  parallel_for_heavy(ctx, a.batch * a.height * a.channel_blocks,
                     [&](int64_t i) { kernels::roi_align_backward(i, a, boxes, dy, dx); });
}

#if CREMA_WITH_CUDA
template <class T>
void ROIAlignLayer<T>::forward_gpu(Context& ctx, const TensorVec<T>& bottom,
                                   const TensorVec<T>& top) {
  // The same DataError as the CPU path: the RoIs (R x 5 values) are read back for the check.
  check_roi_batch_indices(bottom[1]->cpu_data(), args_.num_rois, args_.batch);
  const auto a = args_;
  kernels::RoiAlignBox<T>* boxes = gpu_boxes_.resize(ctx, a.num_rois);
  cuda::launch_roi_align_geometry<T>(ctx.cuda_stream(), a.num_rois, a, bottom[1]->gpu_data(ctx),
                                     boxes);
  cuda::launch_roi_align_forward<T>(ctx.cuda_stream(), a.num_rois * a.channel_blocks, a, boxes,
                                    bottom[0]->gpu_data(ctx), top[0]->mutable_gpu_data(ctx));
}

template <class T>
void ROIAlignLayer<T>::backward_gpu(Context& ctx, const TensorVec<T>& top,
                                    const std::vector<bool>& propagate_down,
                                    const TensorVec<T>& bottom) {
  if (!propagate_down[0]) return;
  const auto a = args_;
  cuda::launch_roi_align_backward<T>(ctx.cuda_stream(), a.batch * a.height * a.channel_blocks, a,
                                     gpu_boxes_.data(ctx), top[0]->gpu_diff(ctx),
                                     bottom[0]->mutable_gpu_diff(ctx));
}
#endif

CREMA_INSTANTIATE_CLASS(ROIAlignLayer);

}  // namespace crema
