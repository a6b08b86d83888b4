/// UpsampleLayer<T>: nearest-neighbour upsampling of each plane by integer factors.
#pragma once

#include <vector>

#include "core/layer.h"
#include "cuda_kernels/upsample.h"

namespace crema {

/// Turns a 4-d bottom (N, C, H, W) into (N, C, H * scale_h, W * scale_w), copying each pixel
/// into a scale_h x scale_w block (upsample_param: scale for both axes, default 2; scale_h and
/// scale_w override it per axis). Backward sums each block.
template <class T>
class UpsampleLayer : public Layer<T> {
 public:
  using Layer<T>::Layer;

  const char* type() const override { return "Upsample"; }
  int exact_num_bottom() const override { return 1; }
  int exact_num_top() const override { return 1; }

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
  kernels::UpsampleArgs args_{};
};

}  // namespace crema
