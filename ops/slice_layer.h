/// SliceLayer<T>: Caffe's Slice, splits bottom 0 along one axis into the tops.
#pragma once

#include <cstdint>
#include <vector>

#include "core/layer.h"
#include "cuda_kernels/slice.h"

namespace crema {

/// slice_param: axis (default 1; the deprecated slice_dim is an alias) and slice_point, the
/// K - 1 strictly increasing cut indices for K tops; without slice_point the axis is split into
/// K equal parts. A single top shares the bottom's data and diff.
template <class T>
class SliceLayer : public Layer<T> {
 public:
  using Layer<T>::Layer;

  const char* type() const override { return "Slice"; }
  int exact_num_bottom() const override { return 1; }
  int min_num_top() const override { return 1; }

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
  std::vector<kernels::SliceArgs> args_;  ///< one per top
};

}  // namespace crema
