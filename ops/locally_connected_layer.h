/// LocallyConnectedLayer<T>: DeepID's unshared convolution, a separate filter bank per output
/// position.
#pragma once

#include <cstdint>
#include <vector>

#include "core/layer.h"
#include "cuda_kernels/locally_connected.h"

namespace crema {

/// Bottom (N, C, H, W); top (N, num_output, H_out, W_out) with H_out = (H + 2 pad - kernel) /
/// stride + 1. blobs()[0]: weights (H_out * W_out, num_output, C * kernel^2), position-major,
/// taps ordered (c, kh, kw) as a Convolution filter; blobs()[1] (bias_term): (num_output,
/// H_out, W_out). The parameter shapes depend on C, H and W, so the input size is fixed at
/// setup. See Note [Locally connected bodies].
template <class T>
class LocallyConnectedLayer : public Layer<T> {
 public:
  using Layer<T>::Layer;

  const char* type() const override { return "LocallyConnected"; }
  int exact_num_bottom() const override { return 1; }
  int exact_num_top() const override { return 1; }

  void layer_setup(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) override;
  void reshape(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) override;
  bool has_gpu_path() const override { return CREMA_WITH_CUDA != 0; }

  const kernels::LocallyConnectedArgs& args() const { return args_; }

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
  int64_t num_output_ = 0, kernel_ = 0, stride_ = 1, pad_ = 0;
  int64_t channels_ = 0, height_ = 0, width_ = 0, out_h_ = 0, out_w_ = 0;
  bool bias_term_ = true;
  kernels::LocallyConnectedArgs args_{};
};

}  // namespace crema
