/// DropoutLayer<T>: in TRAIN zeroes each element with probability p and scales the rest by
/// 1 / (1 - p); identity in TEST (Caffe's Dropout). Masks are counter-based; may run in-place.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/layer.h"
#include "core/synced_memory.h"
#include "cuda_kernels/dropout.h"

namespace crema {

template <class T>
class DropoutLayer : public Layer<T> {
 public:
  using Layer<T>::Layer;

  const char* type() const override { return "Dropout"; }
  int exact_num_bottom() const override { return 1; }
  int exact_num_top() const override { return 1; }

  void layer_setup(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) override;
  void reshape(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) override;
  bool has_gpu_path() const override { return CREMA_WITH_CUDA != 0; }

  /// The number of TRAIN forward calls so far, as a decimal string.
  std::string save_state() const override;
  void load_state(const std::string& state) override;

  /// Counter of the next TRAIN forward: its mask uses stream hash_name(name) ^ counter.
  uint64_t counter() const { return counter_; }
  /// Mask of the last TRAIN forward (1 kept, 0 dropped), copied to the host.
  std::vector<uint8_t> mask() const;

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
  /// Starts a TRAIN forward over n elements: sizes the mask, takes the call's stream and advances
  /// the counter (the same on both devices; see Note [Counter-based dropout]).
  kernels::DropoutArgs<T> start_train_forward(const Context& ctx, int64_t n);

  float ratio_ = 0.5f;
  T scale_ = 2;
  uint64_t counter_ = 0;
  std::unique_ptr<SyncedMemory> mask_;  // host or device, whichever ran the last TRAIN forward
};

}  // namespace crema
