/// DeformableConvolutionLayer<T>: deformable convolution v1 and modulated v2 (torchvision's
/// deform_conv2d), deformable im2col + GEMM on the CPU.
#pragma once

#include <vector>

#include "core/layer.h"
#include "cuda_kernels/deform_conv.h"

namespace crema {

/// Bottoms: x (N, C, H, W), offset (N, 2 * DG * kh * kw, OH, OW) with Δy before Δx per tap, and
/// for `modulated: true` a mask (N, DG * kh * kw, OH, OW). Top (N, num_output, OH, OW). Blobs:
/// weight (num_output, C / group, kh, kw) and optional bias (num_output).
template <class T>
class DeformableConvolutionLayer : public Layer<T> {
 public:
  explicit DeformableConvolutionLayer(const LayerParameter& param) : Layer<T>(param) {}

  const char* type() const override { return "DeformableConvolution"; }
  int min_num_bottom() const override { return 2; }
  int max_num_bottom() const override { return 3; }
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
  /// The sizes both backward paths work with: taps per filter, per-group GEMM dims (m outputs,
  /// k = channels/group x taps, p output pixels) and per-image strides of x, y, offsets, masks.
  struct BackwardDims {
    int64_t taps, m, k, p, in_dim, out_dim, offset_dim, mask_dim;
  };
  BackwardDims backward_dims() const {
    const int64_t taps = args_.kernel_h * args_.kernel_w, p = args_.out_h * args_.out_w;
    return {taps,
            num_output_ / group_,
            channels_ / group_ * taps,
            p,
            channels_ * args_.height * args_.width,
            num_output_ * p,
            2 * deformable_group_ * taps * p,
            deformable_group_ * taps * p};
  }
  /// Which gradients backward must produce: weight, bias, input, offsets, masks.
  struct Wanted {
    bool weight, bias, x, offset, mask;
    bool any() const { return weight || bias || x || offset || mask; }
  };
  Wanted wanted(const std::vector<bool>& propagate_down) const {
    return {this->param_propagate_down(0), bias_term_ && this->param_propagate_down(1),
            propagate_down[0], propagate_down[1], modulated_ && propagate_down[2]};
  }

  // Geometry of the chunk starting at image n0 (the last chunk may be short).
  kernels::DeformConvArgs chunk_args(int64_t n0, int64_t num) const;
  void im2col(Context& ctx, const kernels::DeformConvArgs& a, const TensorVec<T>& bottom,
              int64_t n0);
#if CREMA_WITH_CUDA
  void im2col_gpu(Context& ctx, const kernels::DeformConvArgs& a, const TensorVec<T>& bottom,
                  int64_t n0);
#endif

  int64_t num_output_ = 0, channels_ = 0, group_ = 1, deformable_group_ = 1;
  bool bias_term_ = true, modulated_ = false;
  kernels::DeformConvArgs args_{};  // geometry of a full chunk (args_.num images)
  Tensor<T> col_buffer_;            // (C * kh * kw) x (chunk * OH * OW): sampled columns
  Tensor<T> dcol_buffer_;           // same shape: column gradient W^T dy
  Tensor<T> out_buffer_;            // num_output x (chunk * OH * OW): GEMM layout of a chunk
  Tensor<T> bias_multiplier_;       // ones(chunk * OH * OW)
  // First image of the chunk whose columns col_buffer_ holds (from the last forward, so
  // backward can skip recomputing them), or -1.
  int64_t col_chunk_ = -1;
};

}  // namespace crema
