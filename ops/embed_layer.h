/// EmbedLayer<T>: Caffe's Embed, a learned lookup table indexed by integer inputs.
#pragma once

#include "core/layer.h"
#include "cuda_kernels/embed.h"

namespace crema {

/// embed_param: num_output N, input_dim K (both > 0), bias_term (default true), weight_filler,
/// bias_filler. Blobs: the K x N table and the N bias. Every bottom value must be an integer
/// index in [0, K) (DataError naming the first position otherwise); the top is the bottom's
/// shape with N appended. Gradients reach the table and bias, never the indices.
template <class T>
class EmbedLayer : public Layer<T> {
 public:
  using Layer<T>::Layer;

  const char* type() const override { return "Embed"; }
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
  /// Both forward passes: throws DataError naming the first bottom value that is not a row index.
  void check_indices(const Tensor<T>& index) const;
  /// Both backward passes: refuses a gradient for the indices.
  void check_propagate_down(const std::vector<bool>& propagate_down) const;

  kernels::EmbedArgs args_;
};

}  // namespace crema
