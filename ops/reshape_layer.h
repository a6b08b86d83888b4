/// ReshapeLayer<T>: gives the bottom a new shape (Caffe's Reshape: 0 copies a bottom axis, one
/// -1 is inferred, axis/num_axes select the replaced range); the top shares data and diff.
#pragma once

#include <vector>

#include "core/layer.h"

namespace crema {

template <class T>
class ReshapeLayer : public Layer<T> {
 public:
  using Layer<T>::Layer;

  const char* type() const override { return "Reshape"; }
  int exact_num_bottom() const override { return 1; }
  int exact_num_top() const override { return 1; }

  void layer_setup(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) override;
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

 private:
  std::vector<int> copy_axes_;  // positions in the new shape holding 0
  int inferred_axis_ = -1;      // position in the new shape holding -1, or -1
  int64_t constant_count_ = 1;  // product of the explicit (positive) dims
};

}  // namespace crema
