/// TanHLayer<T>: y = tanh(x) (Caffe's TanH); may run in-place (backward reads only the output).
#pragma once

#include "core/layer.h"

namespace crema {

template <class T>
class TanHLayer : public Layer<T> {
 public:
  using Layer<T>::Layer;

  const char* type() const override { return "TanH"; }
  int exact_num_bottom() const override { return 1; }
  int exact_num_top() const override { return 1; }

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
};

}  // namespace crema
