/// SPMCLayer<T>: sub-pixel motion compensation (Tao et al., ICCV'17), forward bilinear splatting.
#pragma once

#include <vector>

#include "core/layer.h"
#include "cuda_kernels/spmc.h"

namespace crema {

/// Bottoms: LR image (N, C, h, w) and flow (N, 2, h, w) in LR pixels (channel 0 = u along x,
/// 1 = v along y); top: (N, C, scale * h, scale * w). Each LR pixel p is splatted bilinearly
/// at (scale (x + u), scale (y + v)) onto the HR grid: J^H_q = sum_p J^L_p M(x^s_p - x_q)
/// M(y^s_p - y_q), M(t) = max(0, 1 - |t|); targets outside the HR plane are dropped, no
/// normalisation. Zero flow gives the zero-upsampled image. spmc_param { scale: 4 }.
/// See Note [SPMC splatting] in cuda_kernels/spmc.h.
template <class T>
class SPMCLayer : public Layer<T> {
 public:
  using Layer<T>::Layer;

  const char* type() const override { return "SPMC"; }
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
  kernels::SpmcArgs args_{};
  int64_t num_ = 0;
};

}  // namespace crema
