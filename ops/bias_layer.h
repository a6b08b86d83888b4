/// BiasLayer<T>: Caffe's Bias: y = x + b, with b broadcast over the axes before `axis` and after
/// its own axes; b is a second bottom or a learned blob.
#pragma once

#include <cstdint>
#include <vector>

#include "core/layer.h"
#include "cuda_kernels/bias.h"

namespace crema {

/// Shape of a learned Scale / Bias blob: the bottom's axes [axis, axis + num_axes), num_axes -1
/// meaning to the last axis. `field` names the parameter message in errors. Throws ConfigError
/// for an axis out of range, num_axes < -1 or axes past the bottom's.
std::vector<int64_t> broadcast_param_shape(const std::vector<int64_t>& bottom, int axis,
                                           int num_axes, const char* field);

/// The bottom seen as (outer, dim, inner) for a factor of shape `factor` that covers the
/// bottom's axes from `axis` on (axis 0 when the factor is a scalar, as Caffe). `what` names the
/// factor in errors. Throws ConfigError for a bad axis, ShapeError when the shapes do not fit.
kernels::BroadcastArgs broadcast_dims(const std::vector<int64_t>& bottom,
                                      const std::vector<int64_t>& factor, int axis,
                                      const char* what, const char* field);

template <class T>
class BiasLayer : public Layer<T> {
 public:
  using Layer<T>::Layer;

  const char* type() const override { return "Bias"; }
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
  kernels::BroadcastArgs dims_{};
};

}  // namespace crema
