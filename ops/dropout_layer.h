/// DropoutLayer<T>: in TRAIN zeroes each element with probability p and scales the rest by
/// 1 / (1 - p); identity in TEST (Caffe's Dropout). Masks are counter-based; may run in-place.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/layer.h"

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

  /// The number of TRAIN forward calls so far, as a decimal string.
  std::string save_state() const override;
  void load_state(const std::string& state) override;

  /// Counter of the next TRAIN forward: its mask uses stream hash_name(name) ^ counter.
  uint64_t counter() const { return counter_; }
  /// Mask of the last TRAIN forward (1 kept, 0 dropped).
  const std::vector<uint8_t>& mask() const { return mask_; }

 protected:
  void forward_cpu(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) override;
  void backward_cpu(Context& ctx, const TensorVec<T>& top, const std::vector<bool>& propagate_down,
                    const TensorVec<T>& bottom) override;

 private:
  float ratio_ = 0.5f;
  T scale_ = 2;
  uint64_t counter_ = 0;
  std::vector<uint8_t> mask_;
};

}  // namespace crema
