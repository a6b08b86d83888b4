/// SilenceLayer<T>: Caffe's Silence, consumes bottoms so they are not reported as net outputs.
#pragma once

#include "core/layer.h"

namespace crema {

/// Any number (at least one) of bottoms, no tops; forward does nothing, backward writes zero
/// diffs to the bottoms that ask for one.
template <class T>
class SilenceLayer : public Layer<T> {
 public:
  using Layer<T>::Layer;

  const char* type() const override { return "Silence"; }
  int min_num_bottom() const override { return 1; }
  int exact_num_top() const override { return 0; }

  void reshape(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) override {}
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
