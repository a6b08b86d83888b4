/// ScaleLayer<T>: Caffe's Scale: y = x * s (+ b), with s (and b) broadcast over the axes before
/// `axis` and after its own axes; s is a second bottom or a learned blob.
#pragma once

#include <vector>

#include "core/layer.h"
#include "cuda_kernels/bias.h"

namespace crema {

/// Blobs: [0] the scale when learned (one bottom); then the bias when bias_term (so the bias is
/// blob 0 when the scale is bottom 1), as Caffe orders them. May run in place.
template <class T>
class ScaleLayer : public Layer<T> {
 public:
  using Layer<T>::Layer;

  const char* type() const override { return "Scale"; }
  int min_num_bottom() const override { return 1; }
  int max_num_bottom() const override { return 2; }
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
  const Tensor<T>& scale(const TensorVec<T>& bottom) const {
    return bottom.size() > 1 ? *bottom[1] : *this->blobs_[0];
  }

  bool bias_term_ = false;
  int bias_index_ = -1;  // blob index of the bias, -1 without bias_term
  kernels::BroadcastArgs dims_{};
  Tensor<T> x_copy_;  // the input of an in-place forward, for the scale gradient
};

}  // namespace crema
