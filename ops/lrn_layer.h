/// LRNLayer<T>: Caffe's local response normalization, ACROSS_CHANNELS or WITHIN_CHANNEL.
#pragma once

#include <vector>

#include "core/layer.h"
#include "cuda_kernels/lrn.h"

namespace crema {

/// y = x * s^-beta over a 4-d bottom (N, C, H, W), local_size odd:
///   ACROSS_CHANNELS: s = k + alpha / local_size * (sum of x^2 over local_size channels centred
///                    on x, zero beyond the first and last channel);
///   WITHIN_CHANNEL:  s = 1 + alpha * (average of x^2 over a local_size x local_size square
///                    centred on x, zero-padded; the divisor is always local_size^2). k is not
///                    used, as in Caffe (which builds this from Power and AVE Pooling layers;
///                    here it is computed directly). Never in-place.
template <class T>
class LRNLayer : public Layer<T> {
 public:
  using Layer<T>::Layer;

  const char* type() const override { return "LRN"; }
  int exact_num_bottom() const override { return 1; }
  int exact_num_top() const override { return 1; }

  void layer_setup(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) override;
  void reshape(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) override;

 protected:
  void forward_cpu(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) override;
  void backward_cpu(Context& ctx, const TensorVec<T>& top, const std::vector<bool>& propagate_down,
                    const TensorVec<T>& bottom) override;

 private:
  bool across_ = true;
  kernels::LrnArgs<T> args_{};
  Tensor<T> scale_;  // s per element, kept for backward
};

}  // namespace crema
