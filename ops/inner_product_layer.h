/// InnerProductLayer<T>: Caffe's fully connected layer, y = x W^T + b over the axes from `axis` on.
#pragma once

#include <vector>

#include "core/layer.h"

namespace crema {

/// Flattens the bottom from `axis` on into K inputs and maps them to num_output (N) outputs;
/// the top keeps the axes before `axis`. The weight is N x K, or K x N when transpose is set.
template <class T>
class InnerProductLayer : public Layer<T> {
 public:
  explicit InnerProductLayer(const LayerParameter& param) : Layer<T>(param) {}

  const char* type() const override { return "InnerProduct"; }
  int exact_num_bottom() const override { return 1; }
  int exact_num_top() const override { return 1; }

  void layer_setup(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) override;
  void reshape(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) override;
  bool has_gpu_path() const override { return CREMA_WITH_CUDA != 0; }

 protected:
  void forward_cpu(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) override;
  void backward_cpu(Context& ctx, const TensorVec<T>& top, const std::vector<bool>& propagate_down,
                    const TensorVec<T>& bottom) override;
#if CREMA_WITH_CUDA
  // cuBLAS GEMMs in the same row-major form as the CPU path.
  void forward_gpu(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) override;
  void backward_gpu(Context& ctx, const TensorVec<T>& top, const std::vector<bool>& propagate_down,
                    const TensorVec<T>& bottom) override;
#endif

 private:
  // Checks `axis` against the bottom and returns it in [0, num_axes).
  int canonical_axis(const Tensor<T>& bottom) const;

  int64_t m_ = 0;  // rows: product of the axes before `axis`
  int64_t k_ = 0;  // inputs per row
  int64_t n_ = 0;  // num_output
  bool bias_term_ = true;
  bool transpose_ = false;
  Tensor<T> bias_multiplier_;  // ones(m_)
};

}  // namespace crema
