/// CropLayer<T>: Caffe's Crop, cuts bottom 0 to the shape of bottom 1 from crop_param.axis on.
#pragma once

#include "core/layer.h"
#include "cuda_kernels/crop.h"

namespace crema {

/// Bottoms (x, reference) with the same number of axes; the top has x's sizes before
/// crop_param.axis (default 2) and the reference's sizes from it on, taken from x at
/// crop_param.offset: none (0), one value for every cropped axis, or one per cropped axis.
/// Backward writes dx (zeros outside the window); the reference only gives a shape, so its
/// gradient is zero.
template <class T>
class CropLayer : public Layer<T> {
 public:
  using Layer<T>::Layer;

  const char* type() const override { return "Crop"; }
  int exact_num_bottom() const override { return 2; }
  int exact_num_top() const override { return 1; }
  bool allow_force_backward(int bottom_index) const override { return bottom_index == 0; }

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
  kernels::CropArgs args_;
};

}  // namespace crema
