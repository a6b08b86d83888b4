/// ROIPoolingLayer<T>: Fast R-CNN max RoI pooling (Girshick, ICCV'15): bottoms features
/// (N,C,H,W) and rois (R,5) = (batch, x1, y1, x2, y2); top (R,C,pooled_h,pooled_w).
#pragma once

#include <cstdint>
#include <vector>

#include "core/layer.h"
#include "cuda_kernels/roi_pooling.h"
#if CREMA_WITH_CUDA
#include "ops/gpu_scratch.h"
#endif

namespace crema {

template <class T>
class ROIPoolingLayer : public Layer<T> {
 public:
  using Layer<T>::Layer;

  const char* type() const override { return "ROIPooling"; }
  int exact_num_bottom() const override { return 2; }
  int exact_num_top() const override { return 1; }
  // The RoI coordinates take no gradient.
  bool allow_force_backward(int bottom_index) const override { return bottom_index == 0; }

  void layer_setup(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) override;
  void reshape(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) override;
  bool has_gpu_path() const override { return CREMA_WITH_CUDA != 0; }

  /// Per output: the winner's h * W + w in its feature plane, or -1 (for tests; the CPU path's).
  const std::vector<int32_t>& argmax() const { return argmax_; }

 protected:
  void forward_cpu(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) override;
  void backward_cpu(Context& ctx, const TensorVec<T>& top, const std::vector<bool>& propagate_down,
                    const TensorVec<T>& bottom) override;
#if CREMA_WITH_CUDA
  void forward_gpu(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) override;
  void backward_gpu(Context& ctx, const TensorVec<T>& top, const std::vector<bool>& propagate_down,
                    const TensorVec<T>& bottom) override;
#endif

  /// Reads and checks pooled_h / pooled_w / spatial_scale / spatial_shift into args_.
  void set_common_params(uint32_t pooled_h, uint32_t pooled_w, float spatial_scale,
                         float spatial_shift, const char* param_name);

  kernels::RoiPoolArgs<T> args_;

 private:
  std::vector<kernels::RoiPoolBox<T>> boxes_;
  std::vector<int32_t> argmax_;
#if CREMA_WITH_CUDA
  // boxes_ and argmax_ of the GPU path.
  cuda::DeviceScratch<kernels::RoiPoolBox<T>> gpu_boxes_;
  cuda::DeviceScratch<int32_t> gpu_argmax_;
#endif
};

}  // namespace crema
