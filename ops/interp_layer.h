/// InterpLayer<T>: DeepLab / PSPNet's Interp, bilinear resize of each plane (align-corners).
#pragma once

#include <vector>

#include "core/layer.h"
#include "cuda_kernels/interp.h"

namespace crema {

/// Resizes a 4-d bottom (N, C, H, W) bilinearly, as DeepLab's Interp layer (interp_param).
///
/// Align-corners convention: the corner pixels of input and output coincide. Output pixel o
/// along an axis samples input position o * (in - 1) / (out - 1) (position 0 when out == 1),
/// blending the two neighbouring pixels linearly; there is no half-pixel offset. So a zoom by
/// an integer factor keeps every input pixel and fills the gaps linearly, and a linear ramp
/// stays exactly linear.
///
/// The input is first cropped by pad_beg and pad_end (both <= 0: -pad_beg pixels removed at
/// the top and left, -pad_end at the bottom and right), giving H_eff x W_eff. The output size
/// comes from the first rule that applies, in DeepLab's order:
///   shrink_factor only:       H_out = (H_eff - 1) / shrink + 1
///   zoom_factor only:         H_out = (H_eff - 1) * zoom + 1
///   height and width:         those values
///   shrink_factor and zoom:   shrink, then zoom
///   a second bottom:          its H and W (its values are ignored; its gradient is zero)
/// and likewise for W. Backward gathers, for each input pixel, the weighted top diffs of the
/// outputs that sample it.
template <class T>
class InterpLayer : public Layer<T> {
 public:
  using Layer<T>::Layer;

  const char* type() const override { return "Interp"; }
  int min_num_bottom() const override { return 1; }
  int max_num_bottom() const override { return 2; }
  int exact_num_top() const override { return 1; }
  /// The second bottom only gives a size.
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
  enum class SizeRule { kShrink, kZoom, kExplicit, kShrinkZoom, kBottom };
  SizeRule rule_ = SizeRule::kZoom;
  int64_t zoom_ = 1, shrink_ = 1, height_ = 0, width_ = 0, pad_beg_ = 0, pad_end_ = 0;
  kernels::InterpArgs<T> args_{};
};

}  // namespace crema
