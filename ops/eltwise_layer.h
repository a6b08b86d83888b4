/// EltwiseLayer<T>: element-wise PROD, SUM (with coefficients) or MAX of >= 2 equal-shaped
/// bottoms (Caffe's Eltwise).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/layer.h"
#include "core/synced_memory.h"
#include "cuda_kernels/eltwise.h"

namespace crema {

template <class T>
class EltwiseLayer : public Layer<T> {
 public:
  using Layer<T>::Layer;

  const char* type() const override { return "Eltwise"; }
  int min_num_bottom() const override { return 2; }
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
  /// Writes the bottoms' data pointers (device pointers on a GPU context) into ptrs_ and returns
  /// the table on the side that runs the kernel bodies.
  const T* const* pointer_table(Context& ctx, const TensorVec<T>& bottom);

  kernels::EltwiseArgs args_{};
  Tensor<T> coeff_;                     // one per bottom (SUM), 1 by default
  std::unique_ptr<SyncedMemory> arg_;   // MAX: int32 index of the bottom holding each maximum
  std::unique_ptr<SyncedMemory> ptrs_;  // bottom data pointers handed to the kernel bodies
};

}  // namespace crema
