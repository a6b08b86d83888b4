/// ROIAlignLayer<T>: RoIAlign (He et al., Mask R-CNN) with torchvision.ops.roi_align semantics:
/// bottoms features (N,C,H,W) and rois (R,5) = (batch, x1, y1, x2, y2); top
/// (R,C,pooled_h,pooled_w).
#pragma once

#include <vector>

#include "core/layer.h"
#include "cuda_kernels/roi_align.h"
#if CREMA_WITH_CUDA
#include "ops/gpu_scratch.h"
#endif

namespace crema {

template <class T>
class ROIAlignLayer : public Layer<T> {
 public:
  using Layer<T>::Layer;

  const char* type() const override { return "ROIAlign"; }
  int exact_num_bottom() const override { return 2; }
  int exact_num_top() const override { return 1; }
  // The RoI coordinates take no gradient.
  bool allow_force_backward(int bottom_index) const override { return bottom_index == 0; }

  void layer_setup(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) override;
  void reshape(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) override;
  bool has_gpu_path() const override { return CREMA_WITH_CUDA != 0; }

 protected:
  void forward_cpu(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) override;
  void backward_cpu(Context& ctx, const TensorVec<T>& top, const std::vector<bool>& propagate_down,
                    const TensorVec<T>& bottom) override;
#if CREMA_WITH_CUDA
  void forward_gpu(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) override;
  void backward_gpu(Context& ctx, const TensorVec<T>& top, const std::vector<bool>& propagate_down,
                    const TensorVec<T>& bottom) override;
#endif

 private:
  kernels::RoiAlignArgs<T> args_;
  std::vector<kernels::RoiAlignBox<T>> boxes_;
#if CREMA_WITH_CUDA
  cuda::DeviceScratch<kernels::RoiAlignBox<T>> gpu_boxes_;  // boxes_ of the GPU path
#endif
};

}  // namespace crema
