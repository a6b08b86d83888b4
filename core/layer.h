/// Layer<T>: the unit of a net (Caffe's Layer): setup, reshape, forward, backward, parameters.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/context.h"
#include "core/error.h"
#include "core/tensor.h"
#include "proto/crema.pb.h"

namespace crema {

template <class T>
using TensorVec = std::vector<Tensor<T>*>;

template <class T>
class Layer {
 public:
  explicit Layer(const LayerParameter& param);
  virtual ~Layer() = default;
  Layer(const Layer&) = delete;
  Layer& operator=(const Layer&) = delete;

  /// Checks blob counts, then layer_setup (parameters) and reshape (tops).
  void setup(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top);
  /// One-time setup: read parameters, create and fill blobs(). Shape-independent work only.
  virtual void layer_setup(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {}
  /// Validates bottom shapes and shapes the tops; called before every forward.
  virtual void reshape(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) = 0;
  /// Runs the forward pass; returns this layer's weighted loss (0 for non-loss layers).
  T forward(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top);
  /// Writes bottom diffs (where propagate_down) and accumulates parameter diffs.
  void backward(Context& ctx, const TensorVec<T>& top, const std::vector<bool>& propagate_down,
                const TensorVec<T>& bottom);

  virtual const char* type() const = 0;

  // Blob-count contracts (-1: unconstrained), checked by setup with a clear message.
  virtual int exact_num_bottom() const { return -1; }
  virtual int min_num_bottom() const { return -1; }
  virtual int max_num_bottom() const { return -1; }
  virtual int exact_num_top() const { return -1; }
  virtual int min_num_top() const { return -1; }
  virtual int max_num_top() const { return -1; }
  virtual bool equal_num_bottom_top() const { return false; }
  /// When true the net creates anonymous tops up to exact/min_num_top.
  virtual bool auto_top_blobs() const { return false; }
  /// False for inputs that cannot take a gradient (labels, indices).
  virtual bool allow_force_backward(int bottom_index) const { return true; }
  /// Whether forward/backward can run on a GPU Context (Net refuses a GPU net otherwise).
  virtual bool has_gpu_path() const { return false; }

  /// State other than parameters (RNG counters, data cursor) that a snapshot must carry so a
  /// resumed run continues exactly.
  virtual std::string save_state() const { return {}; }
  virtual void load_state(const std::string& state) {}
  /// Layers that read a dataset read only shard `rank` of `world` from now on (data-parallel
  /// training) and return true; the others ignore it.
  virtual bool set_shard(int rank, int world) { return false; }

  std::vector<std::shared_ptr<Tensor<T>>>& blobs() { return blobs_; }
  const std::vector<std::shared_ptr<Tensor<T>>>& blobs() const { return blobs_; }
  const LayerParameter& layer_param() const { return param_; }
  const std::string& name() const { return param_.name(); }
  Phase phase() const { return phase_; }

  T loss(int top_index) const {
    return top_index < static_cast<int>(loss_.size()) ? loss_[top_index] : T(0);
  }
  void set_loss(int top_index, T value);
  bool param_propagate_down(int i) const {
    return i < static_cast<int>(param_propagate_down_.size()) && param_propagate_down_[i];
  }
  void set_param_propagate_down(int i, bool value);

 protected:
  virtual void forward_cpu(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) = 0;
  virtual void backward_cpu(Context& ctx, const TensorVec<T>& top,
                            const std::vector<bool>& propagate_down,
                            const TensorVec<T>& bottom) = 0;
  /// GPU paths (CUDA builds): run on ctx's stream with tensors' gpu_data(ctx). A layer that
  /// overrides them returns true from has_gpu_path().
  virtual void forward_gpu(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top);
  virtual void backward_gpu(Context& ctx, const TensorVec<T>& top,
                            const std::vector<bool>& propagate_down, const TensorVec<T>& bottom);

  /// Fills blob `index` with `filler`, seeded by (ctx.seed, layer name, index) so the result
  /// does not depend on layer order.
  void fill_blob(Context& ctx, const FillerParameter& filler, int index);

  LayerParameter param_;
  Phase phase_;
  std::vector<std::shared_ptr<Tensor<T>>> blobs_;
  std::vector<bool> param_propagate_down_;
  std::vector<T> loss_;

 private:
  void check_blob_counts(const TensorVec<T>& bottom, const TensorVec<T>& top) const;
};

/// Raises a ConfigError naming the layer: "layer 'conv1' (Convolution): <parts>".
#define CREMA_LAYER_CHECK(cond, ...)                                                       \
  do {                                                                                     \
    if (!(cond))                                                                           \
      throw ::crema::ConfigError(::crema::str_cat(__VA_ARGS__));                          \
  } while (0)

/// Raises a ShapeError for a bottom blob: "bottom 'x' has shape ..., expected ...".
#define CREMA_SHAPE_CHECK(cond, ...)                                                       \
  do {                                                                                     \
    if (!(cond)) throw ::crema::ShapeError(::crema::str_cat(__VA_ARGS__));                \
  } while (0)

#define CREMA_INSTANTIATE_CLASS(Name) \
  template class Name<float>;         \
  template class Name<double>

}  // namespace crema
