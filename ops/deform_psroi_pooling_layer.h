/// Deformable RoI pooling: Deformable R-FCN's position-sensitive DeformablePSROIPooling and
/// mmcv's DeformRoIPooling, two layer types over one kernel body.
#pragma once

#include <vector>

#include "core/layer.h"
#include "cuda_kernels/deform_psroi_pooling.h"

namespace crema {

/// "DeformablePSROIPooling" (Dai et al., Deformable ConvNets, ICCV'17; Deformable-ConvNets'
/// MXNet operator): bottoms features (N, C, H, W), rois (R, 5) = [batch, x1, y1, x2, y2] in
/// image pixels, and unless no_trans the offsets (R, 2·classes, part, part) (channel 2k moves
/// x, 2k + 1 moves y of class k; output channel c belongs to class c / (output_dim / classes)).
/// C must be output_dim·group_size². Top (R, output_dim, P, P). Output (r, c, ph, pw) is the
/// mean of sample_per_part² bilinear samples of score map (c·G + gh)·G + gw in the bin,
/// shifted by trans_std·offset·(RoI size); see Note [Two deformable RoI poolings] in
/// cuda_kernels/deform_psroi_pooling.h for the exact rounding, sampling and border rules.
/// With no_trans it is plain PS-RoI pooling with Deformable-ConvNets' sampling.
///
/// Gradients flow to the features and to the offsets; the rois get none. Differences from
/// Deformable-ConvNets: the part cell of bin p is floor(p·part/P) in integers (theirs is a
/// float product that can round down at exact multiples); the sample count is recomputed in
/// backward instead of being a second top; a RoI whose batch index is not in [0, N) is a
/// DataError instead of a wild read.
template <class T>
class DeformablePSROIPoolingLayer : public Layer<T> {
 public:
  using Layer<T>::Layer;

  const char* type() const override { return "DeformablePSROIPooling"; }
  int min_num_bottom() const override { return 2; }
  int max_num_bottom() const override { return 3; }
  int exact_num_top() const override { return 1; }
  /// The RoI boxes take no gradient.
  bool allow_force_backward(int bottom_index) const override { return bottom_index != 1; }

  void layer_setup(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) override;
  void reshape(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) override;
  bool has_gpu_path() const override { return CREMA_WITH_CUDA != 0; }

  /// The kernel arguments reshape built (launcher tests reuse them).
  const kernels::DeformRoIPoolArgs<T>& kernel_args() const { return args_; }

 protected:
  void forward_cpu(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) override;
  void backward_cpu(Context& ctx, const TensorVec<T>& top, const std::vector<bool>& propagate_down,
                    const TensorVec<T>& bottom) override;
#if CREMA_WITH_CUDA
  void forward_gpu(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) override;
  void backward_gpu(Context& ctx, const TensorVec<T>& top, const std::vector<bool>& propagate_down,
                    const TensorVec<T>& bottom) override;
#endif

  /// False for the mmcv variant (DeformRoIPoolingLayer).
  virtual bool position_sensitive() const { return true; }

 private:
  void setup_position_sensitive(const DeformablePSROIPoolingParameter& p, size_t num_bottom);
  void setup_mmcv(const DeformablePSROIPoolingParameter& p);
  void check_batch_indices(const Tensor<T>& rois) const;

  kernels::DeformRoIPoolArgs<T> args_{};
  int64_t output_dim_ = 0, pooled_h_ = 0, pooled_w_ = 0, group_size_ = 1, part_h_ = 0, part_w_ = 0;
};

/// "DeformRoIPooling": mmcv's DeformRoIPool (mmcv/ops/deform_roi_pool.py), the
/// non-position-sensitive deformable RoI pooling. Bottoms features (N, C, H, W), rois (R, 5)
/// and optionally offsets (R, 2, PH, PW) (channel 0 moves x, 1 moves y, in units of
/// gamma·RoI size). Top (R, C, PH, PW). Reads spatial_scale, pooled_size or pooled_h/pooled_w,
/// sampling_ratio (<= 0: ceil(bin size) samples per side, mmcv's default 0) and gamma (0.1);
/// the PS-only fields are rejected. Without offsets it equals torchvision's
/// roi_align(aligned=True). Same kernel bodies as DeformablePSROIPooling in mmcv mode.
template <class T>
class DeformRoIPoolingLayer : public DeformablePSROIPoolingLayer<T> {
 public:
  using DeformablePSROIPoolingLayer<T>::DeformablePSROIPoolingLayer;
  const char* type() const override { return "DeformRoIPooling"; }

 protected:
  bool position_sensitive() const override { return false; }
};

}  // namespace crema
