/// ThresholdLayer<T>: Caffe's Threshold, y = x > threshold ? 1 : 0; has no gradient (backward is an
/// error).
#pragma once

#include <vector>

#include "core/layer.h"

namespace crema {

template <class T>
class ThresholdLayer : public Layer<T> {
 public:
  using Layer<T>::Layer;

  const char* type() const override { return "Threshold"; }
  int exact_num_bottom() const override { return 1; }
  int exact_num_top() const override { return 1; }
  /// A step function has no useful gradient; the net must not ask for one.
  bool allow_force_backward(int bottom_index) const override { return false; }

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
  T threshold_ = 0;
};

}  // namespace crema
