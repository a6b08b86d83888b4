/// BackwardWarpLayer<T>: warps an image by a dense flow, out(p) = bilinear(in, p + flow(p)).
#pragma once

#include <vector>

#include "core/layer.h"
#include "cuda_kernels/backward_warp.h"
#if CREMA_WITH_CUDA
#include "ops/gpu_scratch.h"
#endif

namespace crema {

/// Bottoms: image (N, C, H, W) and flow (N, 2, H, W) in pixels (channel 0 = x, 1 = y); top:
/// (N, C, H, W). Equals torch.nn.functional.grid_sample(image, grid, mode='bilinear',
/// padding_mode=zeros|border, align_corners) with grid the flow's sample positions p + flow(p)
/// normalised to [-1, 1]: g = 2 s / (W - 1) - 1 when align_corners, else g = (2 s + 1) / W - 1
/// (likewise for y). grid_sample maps either back to the same pixel position s, so for ZEROS
/// and BORDER padding align_corners does not change the result; it is accepted for parity
/// with grid_sample. backward_warp_param { padding: ZEROS|BORDER align_corners: false }.
/// See Note [Backward warp sampling] in cuda_kernels/backward_warp.h.
template <class T>
class BackwardWarpLayer : public Layer<T> {
 public:
  using Layer<T>::Layer;

  const char* type() const override { return "BackwardWarp"; }
  int exact_num_bottom() const override { return 2; }
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
  /// Fills taps_ from the flow (one per pixel) and returns them.
  const kernels::WarpTap<T>* compute_taps(Context& ctx, const T* flow);

  kernels::BackwardWarpArgs args_{};
  int64_t num_ = 0;
  std::vector<kernels::WarpTap<T>> taps_;  // See Note [Backward warp work items]
#if CREMA_WITH_CUDA
  /// The GPU path's taps_: fills them from the device flow and returns them.
  const kernels::WarpTap<T>* compute_gpu_taps(Context& ctx, const T* flow);

  cuda::DeviceScratch<kernels::WarpTap<T>> gpu_taps_;
#endif
};

}  // namespace crema
