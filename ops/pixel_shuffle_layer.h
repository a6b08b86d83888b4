/// PixelShuffleLayer<T>: depth-to-space (sub-pixel convolution output) or zero-upsampling.
#pragma once

#include <vector>

#include "core/layer.h"
#include "cuda_kernels/pixel_shuffle.h"

namespace crema {

/// pixel_shuffle_param { upscale_factor: r zero_upsample: false }: (N, C * r * r, H, W) ->
/// (N, C, r * H, r * W) exactly as torch.nn.functional.pixel_shuffle. With zero_upsample:
/// (N, C, H, W) -> (N, C, r * H, r * W), each value at the top-left of its r x r block and
/// zeros elsewhere (SPMC's zero_upsampling). Backward is the inverse permutation (a strided
/// gather for zero_upsample).
template <class T>
class PixelShuffleLayer : public Layer<T> {
 public:
  using Layer<T>::Layer;

  const char* type() const override { return "PixelShuffle"; }
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
  kernels::PixelShuffleArgs args_{};
  bool zero_upsample_ = false;
  int64_t num_ = 0;
};

}  // namespace crema
