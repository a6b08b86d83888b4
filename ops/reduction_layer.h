/// ReductionLayer<T>: Caffe's Reduction, SUM / ASUM / SUMSQ / MEAN over the trailing axes.
#pragma once

#include "core/layer.h"
#include "cuda_kernels/reduction.h"

namespace crema {

/// reduction_param: operation (default SUM), axis (default 0: reduce everything to a scalar;
/// otherwise the top keeps the axes before it) and coeff (default 1) that scales the result.
/// MEAN divides by the number of reduced elements.
template <class T>
class ReductionLayer : public Layer<T> {
 public:
  using Layer<T>::Layer;

  const char* type() const override { return "Reduction"; }
  int exact_num_bottom() const override { return 1; }
  int exact_num_top() const override { return 1; }

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
  kernels::ReductionArgs args_;
};

}  // namespace crema
