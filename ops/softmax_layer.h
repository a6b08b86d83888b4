/// SoftmaxLayer: Caffe's Softmax, normalized exponentials along softmax_param.axis.
#pragma once

#include "core/cudnn_util.h"
#include "core/layer.h"
#include "cuda_kernels/softmax.h"

namespace crema {

/// y = exp(x) / sum exp(x) along one axis (default 1, negative counts from the end); stable
/// for large inputs (the slice maximum is subtracted first). May run in place.
template <class T>
class SoftmaxLayer : public Layer<T> {
 public:
  explicit SoftmaxLayer(const LayerParameter& param) : Layer<T>(param) {}

  const char* type() const override { return "Softmax"; }
  int exact_num_bottom() const override { return 1; }
  int exact_num_top() const override { return 1; }

  void reshape(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) override;
  bool has_gpu_path() const override { return CREMA_WITH_CUDA != 0; }

 protected:
  void forward_cpu(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) override;
  void backward_cpu(Context& ctx, const TensorVec<T>& top, const std::vector<bool>& propagate_down,
                    const TensorVec<T>& bottom) override;
#if CREMA_WITH_CUDA
  // cuDNN's channel softmax over the (outer, channels, inner, 1) view, max subtracted first.
  void forward_gpu(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) override;
  void backward_gpu(Context& ctx, const TensorVec<T>& top, const std::vector<bool>& propagate_down,
                    const TensorVec<T>& bottom) override;
#endif

 private:
  kernels::SoftmaxArgs args_;
#if CREMA_WITH_CUDA
  cudnn::TensorDesc desc_;
#endif
};

/// The (outer, channels, inner) view of `x` around softmax_param.axis `axis`; ConfigError when
/// the axis does not exist in x. Shared with SoftmaxWithLoss.
template <class T>
kernels::SoftmaxArgs softmax_view(const Tensor<T>& x, int axis);

}  // namespace crema
