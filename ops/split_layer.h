/// SplitLayer<T>: hands one bottom to N tops that share its data; backward sums the tops'
/// diffs (Caffe's Split, inserted by the net where a blob feeds several layers).
#pragma once

#include "core/layer.h"

namespace crema {

template <class T>
class SplitLayer : public Layer<T> {
 public:
  using Layer<T>::Layer;

  const char* type() const override { return "Split"; }
  int exact_num_bottom() const override { return 1; }
  int min_num_top() const override { return 1; }

  void reshape(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) override;

  bool has_gpu_path() const override { return CREMA_WITH_CUDA != 0; }

 protected:
  void forward_cpu(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) override {}
  void backward_cpu(Context& ctx, const TensorVec<T>& top, const std::vector<bool>& propagate_down,
                    const TensorVec<T>& bottom) override;
#if CREMA_WITH_CUDA
  void forward_gpu(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) override {}
  void backward_gpu(Context& ctx, const TensorVec<T>& top, const std::vector<bool>& propagate_down,
                    const TensorVec<T>& bottom) override;
#endif
};

}  // namespace crema
