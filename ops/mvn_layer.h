/// MVNLayer<T>: Caffe's mean-variance normalization per image and channel (or per image).
#pragma once

#include <vector>

#include "core/layer.h"
#include "cuda_kernels/mvn.h"

namespace crema {

/// Subtracts the mean of each (n, c) slice (each n when across_channels) and, with
/// normalize_variance, divides by sqrt(variance) + eps. May run in-place.
template <class T>
class MVNLayer : public Layer<T> {
 public:
  using Layer<T>::Layer;

  const char* type() const override { return "MVN"; }
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
  // Launchers of the same per-row bodies.
  void forward_gpu(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) override;
  void backward_gpu(Context& ctx, const TensorVec<T>& top, const std::vector<bool>& propagate_down,
                    const TensorVec<T>& bottom) override;
#endif

 private:
  bool across_channels_ = false;
  kernels::MvnArgs<T> args_{};
  int64_t rows_ = 0;
  Tensor<T> mean_, sigma_;  // per row
};

}  // namespace crema
