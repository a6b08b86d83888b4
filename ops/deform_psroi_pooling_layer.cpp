#include "ops/deform_psroi_pooling_layer.h"

#include <cmath>

#include "core/parallel.h"
#if CREMA_WITH_CUDA
#include "ops/gpu_copy.h"
#endif

namespace crema {

template <class T>
void DeformablePSROIPoolingLayer<T>::layer_setup(Context& ctx, const TensorVec<T>& bottom,
                                                 const TensorVec<T>& top) {
  const DeformablePSROIPoolingParameter& p = this->layer_param().deformable_psroi_pooling_param();
  CREMA_LAYER_CHECK(std::isfinite(p.spatial_scale()) && p.spatial_scale() > 0,
                    "deformable_psroi_pooling_param.spatial_scale must be a positive number (the "
                    "feature-map size over the image size, e.g. 0.0625), got ",
                    p.spatial_scale());
  CREMA_LAYER_CHECK(p.has_pooled_h() == p.has_pooled_w(),
                    "deformable_psroi_pooling_param: set both pooled_h and pooled_w, or neither "
                    "and pooled_size");
  pooled_h_ = p.has_pooled_h() ? p.pooled_h() : p.pooled_size();
  pooled_w_ = p.has_pooled_w() ? p.pooled_w() : p.pooled_size();
  CREMA_LAYER_CHECK(pooled_h_ > 0 && pooled_w_ > 0,
                    "deformable_psroi_pooling_param: the output size must be > 0; set pooled_size "
                    "(or pooled_h and pooled_w), got ",
                    pooled_h_, " x ", pooled_w_);
  for (auto* b : bottom)
    CREMA_LAYER_CHECK(top[0] != b, this->type(), " cannot run in-place; give the top its own name");
  if (position_sensitive())
    setup_position_sensitive(p, bottom.size());
  else
    setup_mmcv(p);
}

template <class T>
void DeformablePSROIPoolingLayer<T>::setup_position_sensitive(
    const DeformablePSROIPoolingParameter& p, size_t num_bottom) {
  CREMA_LAYER_CHECK(!p.has_sampling_ratio() && !p.has_gamma(),
                    "deformable_psroi_pooling_param.sampling_ratio and gamma belong to "
                    "DeformRoIPooling; DeformablePSROIPooling uses sample_per_part and trans_std");
  CREMA_LAYER_CHECK(p.output_dim() > 0,
                    "deformable_psroi_pooling_param.output_dim must be > 0 (output channels), "
                    "got ",
                    p.output_dim());
  CREMA_LAYER_CHECK(p.group_size() > 0,
                    "deformable_psroi_pooling_param.group_size must be > 0 (score-map grid, "
                    "usually pooled_size), got ",
                    p.group_size());
  CREMA_LAYER_CHECK(p.sample_per_part() > 0,
                    "deformable_psroi_pooling_param.sample_per_part must be > 0, got ",
                    p.sample_per_part());
  CREMA_LAYER_CHECK(std::isfinite(p.trans_std()),
                    "deformable_psroi_pooling_param.trans_std must be finite, got ", p.trans_std());
  CREMA_LAYER_CHECK(p.no_trans() == (num_bottom == 2),
                    p.no_trans() ? "no_trans: true takes 2 bottoms (features, rois), got "
                                 : "DeformablePSROIPooling takes 3 bottoms (features, rois, "
                                   "offsets) unless no_trans: true, got ",
                    num_bottom);
  output_dim_ = p.output_dim();
  group_size_ = p.group_size();
  part_h_ = p.part_size() > 0 ? p.part_size() : pooled_h_;
  part_w_ = p.part_size() > 0 ? p.part_size() : pooled_w_;
}

template <class T>
void DeformablePSROIPoolingLayer<T>::setup_mmcv(const DeformablePSROIPoolingParameter& p) {
  CREMA_LAYER_CHECK(!p.has_output_dim() && !p.has_group_size() && !p.has_part_size() &&
                        !p.has_sample_per_part() && !p.has_trans_std() && !p.has_no_trans(),
                    "deformable_psroi_pooling_param: output_dim, group_size, part_size, "
                    "sample_per_part, trans_std and no_trans belong to DeformablePSROIPooling; "
                    "DeformRoIPooling keeps the input channels and uses sampling_ratio and gamma "
                    "(offsets are used when a third bottom is given)");
  CREMA_LAYER_CHECK(std::isfinite(p.gamma()),
                    "deformable_psroi_pooling_param.gamma must be finite, got ", p.gamma());
  group_size_ = 1;
  part_h_ = pooled_h_;
  part_w_ = pooled_w_;
}

template <class T>
void DeformablePSROIPoolingLayer<T>::reshape(Context& ctx, const TensorVec<T>& bottom,
                                             const TensorVec<T>& top) {
  const Tensor<T>& x = *bottom[0];
  const Tensor<T>& rois = *bottom[1];
  CREMA_SHAPE_CHECK(x.num_axes() == 4, "bottom 0 (features) must be 4-d (N, C, H, W), got ",
                    x.shape_string());
  CREMA_SHAPE_CHECK(x.shape(1) > 0 && x.shape(2) > 0 && x.shape(3) > 0,
                    "bottom 0 (features) must have C, H and W > 0, got ", x.shape_string());
  CREMA_SHAPE_CHECK(rois.num_axes() == 2 && rois.shape(1) == 5,
                    "bottom 1 (rois) must be (R, 5) rows [batch, x1, y1, x2, y2], got ",
                    rois.shape_string());
  const bool ps = position_sensitive();
  const int64_t channels = x.shape(1), num_rois = rois.shape(0);
  const int64_t output_dim = ps ? output_dim_ : channels;
  if (ps)
    CREMA_SHAPE_CHECK(channels == output_dim_ * group_size_ * group_size_,
                      "bottom 0 (features) must have output_dim * group_size^2 = ", output_dim_,
                      " * ", group_size_, "^2 = ", output_dim_ * group_size_ * group_size_,
                      " channels, got ", x.shape_string(),
                      "; fix output_dim/group_size or the score-map convolution");
  int64_t num_classes = 1;
  const bool has_offset = bottom.size() == 3;
  if (has_offset) {
    const Tensor<T>& off = *bottom[2];
    const bool pairs = off.num_axes() == 4 && off.shape(1) > 0 && off.shape(1) % 2 == 0;
    if (ps) {
      CREMA_SHAPE_CHECK(pairs && off.shape(0) == num_rois && off.shape(2) == part_h_ &&
                            off.shape(3) == part_w_ && output_dim_ % (off.shape(1) / 2) == 0,
                        "bottom 2 (offsets) must be (R, 2 * classes, part, part) = (", num_rois,
                        ", 2k, ", part_h_, ", ", part_w_, ") with k dividing output_dim ",
                        output_dim_, ", got ", off.shape_string());
      num_classes = off.shape(1) / 2;
    } else {
      CREMA_SHAPE_CHECK(off.shape() == std::vector<int64_t>({num_rois, 2, pooled_h_, pooled_w_}),
                        "bottom 2 (offsets) must be (R, 2, PH, PW) = (", num_rois, ", 2, ",
                        pooled_h_, ", ", pooled_w_, "), got ", off.shape_string());
    }
  }
  top[0]->reshape({num_rois, output_dim, pooled_h_, pooled_w_});
  const DeformablePSROIPoolingParameter& p = this->layer_param().deformable_psroi_pooling_param();
  args_.mode = ps ? kernels::kDeformPSRoIPool : kernels::kDeformRoIPoolMmcv;
  args_.batch = x.shape(0);
  args_.channels = channels;
  args_.height = x.shape(2);
  args_.width = x.shape(3);
  args_.num_rois = num_rois;
  args_.output_dim = output_dim;
  args_.pooled_h = pooled_h_;
  args_.pooled_w = pooled_w_;
  args_.group_size = group_size_;
  args_.part_h = part_h_;
  args_.part_w = part_w_;
  args_.num_classes = num_classes;
  args_.channels_each_class = output_dim / num_classes;
  args_.sample = ps ? static_cast<int64_t>(p.sample_per_part()) : p.sampling_ratio();
  args_.spatial_scale = static_cast<T>(p.spatial_scale());
  args_.offset_scale = static_cast<T>(ps ? p.trans_std() : p.gamma());
  args_.has_offset = has_offset;
}

template <class T>
void DeformablePSROIPoolingLayer<T>::check_batch_indices(const Tensor<T>& rois) const {
  const T* r = rois.cpu_data();
  for (int64_t i = 0; i < args_.num_rois; ++i) {
    if (kernels::deform_roi_batch_index(args_, r + 5 * i) < 0)
      throw DataError(str_cat("bottom 1 (rois) row ", i, " has batch index ", r[5 * i],
                              ", expected a number in [0, ", args_.batch,
                              ") (bottom 0 holds that many images)"));
  }
}

template <class T>
void DeformablePSROIPoolingLayer<T>::forward_cpu(Context& ctx, const TensorVec<T>& bottom,
                                                 const TensorVec<T>& top) {
  check_batch_indices(*bottom[1]);
  const kernels::DeformRoIPoolArgs<T> a = args_;
  const T* x = bottom[0]->cpu_data();
  const T* rois = bottom[1]->cpu_data();
  const T* offset = a.has_offset ? bottom[2]->cpu_data() : nullptr;
  T* y = top[0]->mutable_cpu_data();
  parallel_for(ctx, top[0]->count(),
               [&](int64_t i) { kernels::deform_psroi_pooling_forward(i, a, x, rois, offset, y); });
}

template <class T>
void DeformablePSROIPoolingLayer<T>::backward_cpu(Context& ctx, const TensorVec<T>& top,
                                                  const std::vector<bool>& propagate_down,
                                                  const TensorVec<T>& bottom) {
  const kernels::DeformRoIPoolArgs<T> a = args_;
  const T* rois = bottom[1]->cpu_data();
  const T* offset = a.has_offset ? bottom[2]->cpu_data() : nullptr;
  const T* dy = top[0]->cpu_diff();
  if (propagate_down[1]) bottom[1]->set_diff(T(0));
  if (propagate_down[0]) {
    bottom[0]->set_diff(T(0));
    T* dx = bottom[0]->mutable_cpu_diff();
    parallel_for(ctx, top[0]->count(), [&](int64_t i) {
      kernels::deform_psroi_pooling_backward_data(i, a, rois, offset, dy, dx);
    });
  }
  if (a.has_offset && propagate_down[2]) {
    const T* x = bottom[0]->cpu_data();
    T* doffset = bottom[2]->mutable_cpu_diff();
    parallel_for(ctx, a.num_rois * a.num_classes * a.part_h * a.part_w, [&](int64_t i) {
      kernels::deform_psroi_pooling_backward_offset(i, a, x, rois, offset, dy, doffset);
    });
  }
}

#if CREMA_WITH_CUDA
template <class T>
void DeformablePSROIPoolingLayer<T>::forward_gpu(Context& ctx, const TensorVec<T>& bottom,
                                                 const TensorVec<T>& top) {
  // The same DataError as the CPU path: the RoIs (R x 5 values) are read back for the check.
  check_batch_indices(*bottom[1]);
  const T* offset = args_.has_offset ? bottom[2]->gpu_data(ctx) : nullptr;
  cuda::launch_deform_psroi_pooling_forward<T>(ctx.cuda_stream(), top[0]->count(), args_,
                                               bottom[0]->gpu_data(ctx), bottom[1]->gpu_data(ctx),
                                               offset, top[0]->mutable_gpu_data(ctx));
}

template <class T>
void DeformablePSROIPoolingLayer<T>::backward_gpu(Context& ctx, const TensorVec<T>& top,
                                                  const std::vector<bool>& propagate_down,
                                                  const TensorVec<T>& bottom) {
  const kernels::DeformRoIPoolArgs<T>& a = args_;
  const T* rois = bottom[1]->gpu_data(ctx);
  const T* offset = a.has_offset ? bottom[2]->gpu_data(ctx) : nullptr;
  const T* dy = top[0]->gpu_diff(ctx);
  if (propagate_down[1])
    cuda::zero_bytes(ctx, bottom[1]->mutable_gpu_diff(ctx), bottom[1]->count() * sizeof(T));
  if (propagate_down[0]) {
    T* dx = bottom[0]->mutable_gpu_diff(ctx);
    cuda::zero_bytes(ctx, dx, bottom[0]->count() * sizeof(T));
    cuda::launch_deform_psroi_pooling_backward_data<T>(ctx.cuda_stream(), top[0]->count(), a, rois,
                                                       offset, dy, dx);
  }
  if (a.has_offset && propagate_down[2]) {
    cuda::launch_deform_psroi_pooling_backward_offset<T>(
        ctx.cuda_stream(), a.num_rois * a.num_classes * a.part_h * a.part_w, a,
        bottom[0]->gpu_data(ctx), rois, offset, dy, bottom[2]->mutable_gpu_diff(ctx));
  }
}
#endif

CREMA_INSTANTIATE_CLASS(DeformablePSROIPoolingLayer);
CREMA_INSTANTIATE_CLASS(DeformRoIPoolingLayer);

}  // namespace crema
