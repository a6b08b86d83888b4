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
  /// Bottom i is outer_ rows of `width` elements; in the top its rows are `pitch` elements apart,
  /// starting at element `offset`. Calls f(i, width, offset, pitch) for each non-empty bottom.
  template <class F>
  void for_each_block(const TensorVec<T>& bottom, const Tensor<T>& top, F f) const {
    const int64_t pitch = top.shape(axis_) * inner_;
    int64_t offset = 0;
    for (size_t i = 0; i < bottom.size(); ++i) {
      const int64_t width = bottom[i]->shape(axis_) * inner_;
      if (width > 0) f(i, width, offset, pitch);
      offset += width;
    }
  }

  int axis_ = 1;
  int64_t outer_ = 1;  // product of the axes before axis_
  int64_t inner_ = 1;  // product of the axes after axis_
};

}  // namespace crema
