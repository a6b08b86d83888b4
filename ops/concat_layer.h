/// ConcatLayer<T>: joins bottoms along one axis (Caffe's Concat); all other axes must match.
#pragma once

#include <cstdint>

#include "core/layer.h"

namespace crema {

template <class T>
class ConcatLayer : public Layer<T> {
 public:
  using Layer<T>::Layer;

  const char* type() const override { return "Concat"; }
  int min_num_bottom() const override { return 1; }
  int exact_num_top() const override { return 1; }

  void layer_setup(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) override;
  void reshape(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) override;

 protected:
  void forward_cpu(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) override;
  void backward_cpu(Context& ctx, const TensorVec<T>& top, const std::vector<bool>& propagate_down,
                    const TensorVec<T>& bottom) override;

 private:
  int axis_ = 1;
  int64_t outer_ = 1;  // product of the axes before axis_
  int64_t inner_ = 1;  // product of the axes after axis_
};

}  // namespace crema
