/// ArgMaxLayer<T>: Caffe's ArgMax, the indices (and optionally values) of the top_k largest.
#pragma once

#include "core/layer.h"
#include "cuda_kernels/argmax.h"

namespace crema {

/// argmax_param: top_k (default 1, at most the number of competing values), out_max_val, axis.
/// With an axis the values along it compete and the top has that axis resized to top_k,
/// holding indices (or the values when out_max_val). Without one, each item of the batch (all
/// of axes 1..) competes and the top is N x 1 x top_k (N x 2 x top_k with out_max_val: indices
/// then values), padded to at least 3 axes. Ties go to the larger index. No gradient.
template <class T>
class ArgMaxLayer : public Layer<T> {
 public:
  using Layer<T>::Layer;

  const char* type() const override { return "ArgMax"; }
  int exact_num_bottom() const override { return 1; }
  int exact_num_top() const override { return 1; }
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
  /// Both backward passes: refuses a gradient request (ArgMax has none) and does nothing else.
  void refuse_gradient(const std::vector<bool>& propagate_down) const;

  kernels::ArgMaxArgs args_;
};

}  // namespace crema
