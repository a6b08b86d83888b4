/// PowerLayer<T>: Caffe's Power, y = (shift + scale * x)^power; in-place only when the gradient
/// does not need x (power 1, or power * scale 0).
#pragma once

#include <vector>

#include "core/layer.h"

namespace crema {

template <class T>
class PowerLayer : public Layer<T> {
 public:
  using Layer<T>::Layer;

  const char* type() const override { return "Power"; }
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
  T power_ = 1, scale_ = 1, shift_ = 0;
};

}  // namespace crema
