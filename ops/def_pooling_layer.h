/// DefPoolingLayer<T>: DeepID-Net def-pooling, max pooling with a learnable quadratic
/// deformation penalty per channel (MODELS.md 2(a)-i).
#pragma once

#include <cstdint>
#include <vector>

#include "core/layer.h"
#include "cuda_kernels/def_pooling.h"
#if CREMA_WITH_CUDA
#include "ops/gpu_scratch.h"
#endif

namespace crema {

/// Bottom: part-detection maps (N, C, H, W). Top 0: (N, C, H', W'), H' = floor((H + 2 pad -
/// 2 radius - 1) / stride) + 1 (with the default pad = radius: floor((H - 1) / stride) + 1,
/// windows centred on stride * y). Optional top 1: the winning displacement index
/// (dy + R) * (2R + 1) + (dx + R) per output, -1 where the window held no input position (for
/// displacement histograms; it takes no gradient). blobs()[0]: the penalty weights a, shape
/// (C, 4), for the basis (dx, dy, dx^2, dy^2) with dx along W and dy along H. With a = 0 the
/// layer is MAX pooling with kernel 2R + 1, stride s and pad `pad` (FLOOR rounding).
template <class T>
class DefPoolingLayer : public Layer<T> {
 public:
  using Layer<T>::Layer;

  const char* type() const override { return "DefPooling"; }
  int exact_num_bottom() const override { return 1; }
  int min_num_top() const override { return 1; }
  int max_num_top() const override { return 2; }

  void layer_setup(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) override;
  void reshape(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) override;
  bool has_gpu_path() const override { return CREMA_WITH_CUDA != 0; }

  /// The argmax displacement index of each output of the last CPU forward (-1: empty window).
  const std::vector<int32_t>& argmax() const { return argmax_; }
  const kernels::DefPoolingArgs& args() const { return args_; }

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
  int64_t radius_ = 1, stride_ = 1, pad_ = 1;
  kernels::DefPoolingArgs args_{};
  std::vector<int32_t> argmax_;  // per output, read by backward
#if CREMA_WITH_CUDA
  cuda::DeviceScratch<int32_t> gpu_argmax_;  // argmax_ of the GPU path
#endif
};

}  // namespace crema
