/// TileLayer<T>: Caffe's Tile, repeats bottom 0 `tiles` times along tile_param.axis.
#pragma once

#include "core/layer.h"
#include "cuda_kernels/tile.h"

namespace crema {

/// tile_param: axis (default 1) and tiles (required, > 0). The top's axis is tiles times the
/// bottom's; the whole block from that axis on repeats. Backward sums the copies.
template <class T>
class TileLayer : public Layer<T> {
 public:
  using Layer<T>::Layer;

  const char* type() const override { return "Tile"; }
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
  void forward_gpu(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) override;
  void backward_gpu(Context& ctx, const TensorVec<T>& top, const std::vector<bool>& propagate_down,
                    const TensorVec<T>& bottom) override;
#endif

 private:
  kernels::TileArgs args_;
};

}  // namespace crema
