/// InputLayer<T>: a net input with no bottoms; tops are shaped from input_param.shape and
/// filled by the caller (Caffe's Input).
#pragma once

#include "core/layer.h"

namespace crema {

template <class T>
class InputLayer : public Layer<T> {
 public:
  using Layer<T>::Layer;

  const char* type() const override { return "Input"; }
  int exact_num_bottom() const override { return 0; }
  int min_num_top() const override { return 1; }

  void layer_setup(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) override;
  // Tops keep the shape set in layer_setup or given later by the caller.
  void reshape(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) override {}

  bool has_gpu_path() const override { return CREMA_WITH_CUDA != 0; }

 protected:
  // No computation: the caller fills the tops; they move to the device when a layer reads them there.
  void forward_cpu(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) override {}
  void backward_cpu(Context& ctx, const TensorVec<T>& top, const std::vector<bool>& propagate_down,
                    const TensorVec<T>& bottom) override {}
#if CREMA_WITH_CUDA
  void forward_gpu(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) override {}
  void backward_gpu(Context& ctx, const TensorVec<T>& top, const std::vector<bool>& propagate_down,
                    const TensorVec<T>& bottom) override {}
#endif
};

}  // namespace crema
