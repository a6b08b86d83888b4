/// EltwiseLayer<T>: element-wise PROD, SUM (with coefficients) or MAX of >= 2 equal-shaped
/// bottoms (Caffe's Eltwise).
#pragma once

#include <cstdint>
#include <vector>

#include "core/layer.h"
#include "cuda_kernels/eltwise.h"

namespace crema {

template <class T>
class EltwiseLayer : public Layer<T> {
 public:
  using Layer<T>::Layer;

  const char* type() const override { return "Eltwise"; }
  int min_num_bottom() const override { return 2; }
  int exact_num_top() const override { return 1; }

  void layer_setup(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) override;
  void reshape(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) override;

 protected:
  void forward_cpu(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) override;
  void backward_cpu(Context& ctx, const TensorVec<T>& top, const std::vector<bool>& propagate_down,
                    const TensorVec<T>& bottom) override;

 private:
  kernels::EltwiseArgs args_{};
  std::vector<T> coeff_;        // one per bottom (SUM), 1 by default
  std::vector<int32_t> arg_;    // MAX: index of the bottom holding each maximum
  std::vector<const T*> ptrs_;  // bottom data pointers handed to the kernel bodies
};

}  // namespace crema
