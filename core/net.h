/// Net<T>: a layer graph built from a NetParameter (phases, rules, splits, sharing, backward).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/context.h"
#include "core/io.h"
#include "core/layer.h"

namespace crema {

/// What copying weights into a net found, layer by layer.
struct WeightsReport {
  std::vector<std::string> copied;      ///< layers whose blobs were all copied
  std::vector<std::string> mismatched;  ///< "layer: why" for layers whose blobs did not fit
  std::vector<std::string> missing;     ///< net layers with parameters absent from the file
  std::vector<std::string> unused;      ///< file layers with blobs that the net lacks
  std::string summary() const;
};

/// Keeps the layers of `param` whose include/exclude rules match `state`; `lines` (the source
/// line of each layer, may be empty) is filtered alongside.
NetParameter filter_net(const NetParameter& param, const NetState& state,
                        std::vector<int>* lines = nullptr);
/// True when `state` meets `rule` (phase, min/max level, stage / not_stage).
bool state_meets_rule(const NetState& state, const NetStateRule& rule);

template <class T>
class Net {
 public:
  /// Builds the net: `state` selects layers (phase, level, stages); `where` gives source lines.
  Net(const NetParameter& param, Context& ctx, const NetState& state,
      const TextLocations* where = nullptr);
  /// Reads a prototxt and builds it for `phase`.
  Net(const std::string& prototxt, Context& ctx, Phase phase, int level = 0,
      const std::vector<std::string>& stages = {});

  /// Runs all layers forward; returns the total weighted loss.
  T forward();
  /// Runs backward through the layers that need it (parameter diffs accumulate).
  void backward();
  T forward_backward() {
    const T loss = forward();
    backward();
    return loss;
  }
  /// Called with every layer index, in backward order, once that layer's backward step is over
  /// (also for layers that need none), e.g. to start reducing the gradients it finished.
  void set_backward_hook(std::function<void(int)> hook) { backward_hook_ = std::move(hook); }
  /// For each learnable parameter, the lowest index of a layer using it: its gradient is final
  /// once backward has passed that layer.
  std::vector<int> learnable_param_ready_layers() const;
  /// "conv1.0"-style names of the learnable parameters (the ParamSpec name where given).
  std::vector<std::string> learnable_param_names() const;
  /// Re-runs every layer's reshape (after an input changed shape).
  void reshape();
  void clear_param_diffs();

  /// Copies parameters by layer name. With `strict`, a shape mismatch is a ShapeError naming the
  /// layer; otherwise (fine-tuning) such layers are skipped and reported.
  WeightsReport copy_trained_layers_from(const NetParameter& weights, bool strict = true);
  /// Loads a .caffemodel / Crema weights file (checksum verified when present).
  WeightsReport copy_trained_layers_from(const std::string& path, bool strict = true);
  /// Makes this net's parameters share storage with `other`'s layers of the same name (test nets).
  void share_trained_layers_with(const Net& other);
  /// Writes layers and their parameter blobs (and diffs) into a NetParameter.
  void to_proto(NetParameter* param, bool write_diff = false) const;

  /// Persistent non-parameter state of every layer (data cursors, RNG counters), by layer name.
  std::map<std::string, std::string> save_layer_states() const;
  void load_layer_states(const std::map<std::string, std::string>& states);

  const std::string& name() const { return name_; }
  Phase phase() const { return phase_; }
  Context& context() { return ctx_; }
  const std::vector<std::unique_ptr<Layer<T>>>& layers() const { return layers_; }
  const std::vector<std::string>& layer_names() const { return layer_names_; }
  const std::vector<std::shared_ptr<Tensor<T>>>& blobs() const { return blobs_; }
  const std::vector<std::string>& blob_names() const { return blob_names_; }
  const std::vector<TensorVec<T>>& bottom_vecs() const { return bottom_vecs_; }
  const std::vector<TensorVec<T>>& top_vecs() const { return top_vecs_; }
  const std::vector<std::vector<int>>& top_ids() const { return top_id_vecs_; }
  const std::vector<std::vector<int>>& bottom_ids() const { return bottom_id_vecs_; }
  bool layer_need_backward(int i) const { return layer_need_backward_[i]; }
  const std::vector<bool>& bottom_need_backward(int i) const { return bottom_need_backward_[i]; }
  bool has_blob(const std::string& name) const { return blob_index_.count(name) > 0; }
  /// The blob called `name`; ConfigError listing the known blobs when absent.
  std::shared_ptr<Tensor<T>> blob_by_name(const std::string& name) const;
  /// Index of the layer called `name`, or -1.
  int layer_index(const std::string& name) const;
  /// Blobs produced but never consumed (the net's outputs), and their indices.
  const std::vector<int>& output_blob_indices() const { return output_blob_ids_; }
  /// Loss weight carried by blob i (0 for non-loss blobs).
  T blob_loss_weight(int i) const { return blob_loss_weights_[i]; }

  /// Every parameter blob (shared ones repeated), and the owners only (what solvers update).
  const std::vector<std::shared_ptr<Tensor<T>>>& params() const { return params_; }
  const std::vector<Tensor<T>*>& learnable_params() const { return learnable_params_; }
  const std::vector<float>& params_lr() const { return params_lr_; }
  const std::vector<float>& params_weight_decay() const { return params_decay_; }
  /// "layer 'conv1' (Convolution) at net.prototxt:12: " for messages.
  std::string layer_where(int layer_index) const;
  /// Bytes of activation storage (distinct data buffers, plus diffs where a backward pass can
  /// use them), and what the same blobs would take without buffer reuse.
  size_t activation_bytes() const;
  size_t activation_bytes_without_reuse() const;
  size_t param_bytes() const;
  /// TEST nets share activation buffers between blobs whose lifetimes do not overlap (on by
  /// default there); turning it off gives every blob its own buffer again (e.g. to read every
  /// intermediate blob after a forward pass).
  void set_memory_reuse(bool on);
  bool memory_reuse() const { return reuse_; }

 private:
  void init(const NetParameter& param, const NetState& state, const TextLocations* where);
  void append_top(const LayerParameter& lp, int layer_id, int top_id,
                  std::map<std::string, int>* available);
  int append_bottom(const NetParameter& param, int layer_id, int bottom_id,
                    std::map<std::string, int>* available);
  void append_param(const LayerParameter& lp, int layer_id, int param_id);
  /// Assigns shared buffers to blobs by lifetime (see Note [Activation reuse]).
  void plan_memory();

  Context& ctx_;
  std::string name_, file_;
  Phase phase_ = TRAIN;
  std::vector<std::unique_ptr<Layer<T>>> layers_;
  std::vector<std::string> layer_names_;
  std::vector<int> layer_lines_;
  std::vector<bool> layer_is_split_;  // inserted automatically for fan-out
  std::vector<std::shared_ptr<Tensor<T>>> blobs_;
  std::vector<std::string> blob_names_;
  std::map<std::string, int> blob_index_;
  std::vector<bool> blob_need_backward_;
  std::vector<T> blob_loss_weights_;
  std::vector<TensorVec<T>> bottom_vecs_, top_vecs_;
  std::vector<std::vector<int>> bottom_id_vecs_, top_id_vecs_;
  std::vector<std::vector<bool>> bottom_need_backward_;
  std::vector<bool> layer_need_backward_;
  std::vector<int> output_blob_ids_;
  bool reuse_ = false;
  std::vector<bool> blob_aliased_;  // storage shared by construction (Split, Flatten, ...)

  std::vector<std::shared_ptr<Tensor<T>>> params_;
  std::vector<Tensor<T>*> learnable_params_;
  std::vector<int> param_owners_;  // -1 when the param owns its storage
  std::vector<std::string> param_display_names_;
  std::map<std::string, int> param_names_index_;
  std::vector<float> params_lr_, params_decay_;
  std::vector<std::vector<int>> param_id_vecs_;  // per layer: indices into params_
  std::function<void(int)> backward_hook_;
};

}  // namespace crema
