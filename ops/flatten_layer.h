/// FlattenLayer<T>: merges axes [axis, end_axis] into one (Caffe's Flatten); the top shares the
/// bottom's data and diff.
#pragma once

#include "core/layer.h"

namespace crema {

template <class T>
class FlattenLayer : public Layer<T> {
 public:
  using Layer<T>::Layer;

  const char* type() const override { return "Flatten"; }
  int exact_num_bottom() const override { return 1; }
  int exact_num_top() const override { return 1; }

  void reshape(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) override;
  // The top shares the bottom's storage, on the host or the device: nothing to compute there.
  bool has_gpu_path() const override { return CREMA_WITH_CUDA != 0; }

 protected:
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
