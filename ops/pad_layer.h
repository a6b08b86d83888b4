/// PadLayer<T>: pads H and W of an N,C,H,W blob with a constant, the edge pixel (replicate) or
/// the mirror image (reflect) — e.g. 'same' convolution with MATLAB's imfilter 'replicate'.
#pragma once

#include "core/layer.h"
#include "cuda_kernels/pad.h"

namespace crema {

template <class T>
class PadLayer : public Layer<T> {
 public:
  using Layer<T>::Layer;

  const char* type() const override { return "Pad"; }
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
  kernels::PadArgs<T> args_{};
  int64_t planes_ = 0;
};

}  // namespace crema
