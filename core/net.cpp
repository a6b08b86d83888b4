#include "core/net.h"

#include <algorithm>
#include <set>
#include <unordered_set>

#include "core/blas.h"
#include "ops/registry.h"

namespace crema {
namespace {

const char* phase_name(Phase p) { return p == TRAIN ? "TRAIN" : "TEST"; }

std::string join(const std::vector<std::string>& v, const char* sep = ", ") {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? sep : "") + v[i];
  return s;
}

// Legacy `input:` / `input_shape` / `input_dim` become an Input layer in front.
void upgrade_inputs(NetParameter* param, std::vector<int>* lines) {
  if (param->input_size() == 0) return;
  LayerParameter input;
  input.set_name("input");
  input.set_type("Input");
  const int n = param->input_size();
  if (param->input_shape_size() > 0) {
    CREMA_CHECK_AS(ConfigError, param->input_shape_size() == n || param->input_shape_size() == 1,
                   "net '", param->name(), "' has ", n, " `input` entries but ",
                   param->input_shape_size(), " `input_shape` entries; give one per input");
    for (int i = 0; i < param->input_shape_size(); ++i)
      *input.mutable_input_param()->add_shape() = param->input_shape(i);
  } else if (param->input_dim_size() > 0) {
    CREMA_CHECK_AS(ConfigError, param->input_dim_size() == 4 * n, "net '", param->name(),
                   "' has ", n, " `input` entries and ", param->input_dim_size(),
                   " `input_dim` values; legacy input_dim needs 4 (N, C, H, W) per input");
    for (int i = 0; i < n; ++i) {
      BlobShape* s = input.mutable_input_param()->add_shape();
      for (int k = 0; k < 4; ++k) s->add_dim(param->input_dim(4 * i + k));
    }
  } else {
    throw ConfigError(str_cat("net '", param->name(), "' declares `input: \"", param->input(0),
                              "\"` without input_shape or input_dim; add `input_shape { dim: ... }`"));
  }
  for (int i = 0; i < n; ++i) input.add_top(param->input(i));
  NetParameter upgraded = *param;
  upgraded.clear_input();
  upgraded.clear_input_shape();
  upgraded.clear_input_dim();
  upgraded.clear_layer();
  *upgraded.add_layer() = input;
  for (const auto& l : param->layer()) *upgraded.add_layer() = l;
  *param = upgraded;
  if (lines) lines->insert(lines->begin(), 0);
}

std::string split_layer_name(const std::string& layer, const std::string& blob, int top) {
  return str_cat(blob, "_", layer, "_", top, "_split");
}
std::string split_blob_name(const std::string& layer, const std::string& blob, int top, int k) {
  return str_cat(split_layer_name(layer, blob, top), "_", k);
}

// Inserts a Split layer after every top consumed more than once (a top with a loss weight
// counts as one more consumer, and its loss moves to split output 0), as Caffe does.
NetParameter insert_splits(const NetParameter& param, std::vector<int>* lines,
                           std::vector<bool>* is_split) {
  using Idx = std::pair<int, int>;
  std::map<std::string, Idx> last_top;
  std::map<Idx, Idx> bottom_source;
  std::map<Idx, int> consumers;
  std::map<Idx, float> loss_weight;
  std::map<Idx, int> next_split;
  for (int i = 0; i < param.layer_size(); ++i) {
    const LayerParameter& l = param.layer(i);
    for (int j = 0; j < l.bottom_size(); ++j) {
      auto it = last_top.find(l.bottom(j));
      if (it == last_top.end()) continue;  // reported with context when the net is built
      bottom_source[{i, j}] = it->second;
      ++consumers[it->second];
    }
    for (int j = 0; j < l.top_size(); ++j) {
      last_top[l.top(j)] = {i, j};
      const float w = j < l.loss_weight_size() ? l.loss_weight(j) : 0.f;
      if (w != 0) {
        loss_weight[{i, j}] = w;
        ++consumers[{i, j}];
      }
    }
  }
  NetParameter out = param;
  out.clear_layer();
  std::vector<int> out_lines;
  is_split->clear();
  for (int i = 0; i < param.layer_size(); ++i) {
    LayerParameter* l = out.add_layer();
    *l = param.layer(i);
    out_lines.push_back(lines && i < static_cast<int>(lines->size()) ? (*lines)[i] : 0);
    is_split->push_back(false);
    for (int j = 0; j < l->bottom_size(); ++j) {
      auto src = bottom_source.find({i, j});
      if (src == bottom_source.end() || consumers[src->second] <= 1) continue;
      const LayerParameter& producer = param.layer(src->second.first);
      l->set_bottom(j, split_blob_name(producer.name(), producer.top(src->second.second),
                                       src->second.second, next_split[src->second]++));
    }
    for (int j = 0; j < l->top_size(); ++j) {
      const int n = consumers[{i, j}];
      if (n <= 1) continue;
      LayerParameter* split = out.add_layer();
      split->set_name(split_layer_name(l->name(), l->top(j), j));
      split->set_type("Split");
      split->add_bottom(l->top(j));
      for (int k = 0; k < n; ++k) split->add_top(split_blob_name(l->name(), l->top(j), j, k));
      auto w = loss_weight.find({i, j});
      if (w != loss_weight.end()) {
        split->add_loss_weight(w->second);
        for (int k = 1; k < n; ++k) split->add_loss_weight(0);
        l->clear_loss_weight();
        next_split[{i, j}] = 1;  // output 0 carries the loss
      }
      out_lines.push_back(lines && i < static_cast<int>(lines->size()) ? (*lines)[i] : 0);
      is_split->push_back(true);
    }
  }
  if (lines) *lines = out_lines;
  return out;
}

}  // namespace

bool state_meets_rule(const NetState& state, const NetStateRule& rule) {
  if (rule.has_phase() && rule.phase() != state.phase()) return false;
  if (rule.has_min_level() && state.level() < rule.min_level()) return false;
  if (rule.has_max_level() && state.level() > rule.max_level()) return false;
  const std::set<std::string> stages(state.stage().begin(), state.stage().end());
  for (const auto& s : rule.stage())
    if (!stages.count(s)) return false;
  for (const auto& s : rule.not_stage())
    if (stages.count(s)) return false;
  return true;
}

NetParameter filter_net(const NetParameter& param, const NetState& state, std::vector<int>* lines) {
  NetParameter out = param;
  out.clear_layer();
  std::vector<int> kept_lines;
  for (int i = 0; i < param.layer_size(); ++i) {
    const LayerParameter& l = param.layer(i);
    CREMA_CHECK_AS(ConfigError, l.include_size() == 0 || l.exclude_size() == 0, "layer '",
                   l.name(), "' has both include and exclude rules; use only one kind");
    bool keep = l.include_size() == 0;
    for (const auto& r : l.exclude())
      if (state_meets_rule(state, r)) keep = false;
    for (const auto& r : l.include())
      if (state_meets_rule(state, r)) keep = true;
    if (!keep) continue;
    *out.add_layer() = l;
    if (lines && i < static_cast<int>(lines->size())) kept_lines.push_back((*lines)[i]);
  }
  if (lines) *lines = kept_lines;
  return out;
}

std::string WeightsReport::summary() const {
  std::string s = str_cat("copied ", copied.size(), " layer(s)");
  if (!mismatched.empty()) s += str_cat("; skipped (shape mismatch): ", join(mismatched, "; "));
  if (!missing.empty()) s += str_cat("; not in file (kept initialised): ", join(missing));
  if (!unused.empty()) s += str_cat("; in file but not in net: ", join(unused));
  return s;
}

template <class T>
Net<T>::Net(const NetParameter& param, Context& ctx, const NetState& state,
            const TextLocations* where)
    : ctx_(ctx) {
  init(param, state, where);
}

template <class T>
Net<T>::Net(const std::string& prototxt, Context& ctx, Phase phase, int level,
            const std::vector<std::string>& stages)
    : ctx_(ctx) {
  NetParameter param;
  TextLocations where;
  read_text_proto(prototxt, &param, &where);
  NetState state;
  state.set_phase(phase);
  state.set_level(level);
  for (const auto& s : stages) state.add_stage(s);
  init(param, state, &where);
}

template <class T>
std::string Net<T>::layer_where(int i) const {
  std::string s = str_cat("layer '", layer_names_[i], "'");
  if (i < static_cast<int>(layers_.size()) && layers_[i]) s += str_cat(" (", layers_[i]->type(), ")");
  if (i < static_cast<int>(layer_lines_.size()) && layer_lines_[i] > 0 && !file_.empty())
    s += str_cat(" at ", file_, ":", layer_lines_[i]);
  return s + ": ";
}

template <class T>
void Net<T>::init(const NetParameter& in_param, const NetState& in_state,
                  const TextLocations* where) {
  CREMA_CHECK_AS(ConfigError, in_param.layers_size() == 0,
                 where ? where->file : in_param.name(),
                 ": uses the V1 `layers { ... }` format, which Crema does not read; rewrite it "
                 "with `layer { ... }` and string types (e.g. type: \"Convolution\")");
  NetState state = in_param.state();
  state.MergeFrom(in_state);
  phase_ = state.phase();
  name_ = in_param.name();
  file_ = where ? where->file : std::string();
  std::vector<int> lines = where ? where->layer_lines : std::vector<int>();
  NetParameter param = filter_net(in_param, state, &lines);
  upgrade_inputs(&param, &lines);
  param = insert_splits(param, &lines, &layer_is_split_);
  layer_lines_ = lines;

  std::map<std::string, int> available;
  std::set<std::string> layer_name_set;
  const int n = param.layer_size();
  bottom_vecs_.resize(n);
  top_vecs_.resize(n);
  bottom_id_vecs_.resize(n);
  top_id_vecs_.resize(n);
  bottom_need_backward_.resize(n);
  param_id_vecs_.resize(n);
  for (int id = 0; id < n; ++id) {
    LayerParameter lp = param.layer(id);
    if (!lp.has_phase()) lp.set_phase(phase_);
    if (lp.name().empty()) lp.set_name(str_cat("layer", id));
    layer_names_.push_back(lp.name());
    try {
      CREMA_CHECK_AS(ConfigError, !lp.type().empty(), "has no `type`");
      CREMA_CHECK_AS(ConfigError, layer_name_set.insert(lp.name()).second,
                     "the name is used by an earlier layer too; layer names must be unique");
      layers_.push_back(create_layer<T>(lp));
      Layer<T>& layer = *layers_.back();
      // DESIGN §2: never a silent CPU fallback on a GPU context.
      CREMA_CHECK_AS(DeviceError, !ctx_.on_gpu() || layer.has_gpu_path(),
                     "has no GPU path in this build of Crema, and Crema does not fall back to "
                     "the CPU silently; run this net on the CPU (leave out --gpu)");
      CREMA_CHECK_AS(ConfigError, lp.propagate_down_size() == 0 ||
                                      lp.propagate_down_size() == lp.bottom_size(),
                     "has ", lp.propagate_down_size(), " propagate_down values for ",
                     lp.bottom_size(), " bottoms; give one per bottom or none");
      bool need_backward = false;
      for (int j = 0; j < lp.bottom_size(); ++j) {
        const int bid = append_bottom(param, id, j, &available);
        bool down = blob_need_backward_[bid];
        if (lp.propagate_down_size() > 0) down = down && lp.propagate_down(j);
        bottom_need_backward_[id].push_back(down);
        need_backward |= down;
      }
      for (int j = 0; j < lp.top_size(); ++j) append_top(lp, id, j, &available);
      if (layer.auto_top_blobs()) {
        const int needed = std::max(layer.min_num_top(), layer.exact_num_top());
        for (int j = lp.top_size(); j < needed; ++j) {
          LayerParameter anon = lp;
          anon.add_top(str_cat("(", lp.name(), " auto top ", j, ")"));
          append_top(anon, id, j, nullptr);
        }
      }
      layer.setup(ctx_, bottom_vecs_[id], top_vecs_[id]);
      for (size_t j = 0; j < top_id_vecs_[id].size(); ++j) {
        const int tid = top_id_vecs_[id][j];
        blob_loss_weights_[tid] = layer.loss(static_cast<int>(j));
      }
      // The layer's own parameter (after setup) may fix param specs, e.g. BatchNorm's
      // statistics have lr_mult 0 whatever the prototxt says.
      const LayerParameter& set_lp = layer.layer_param();
      const int num_params = static_cast<int>(layer.blobs().size());
      CREMA_CHECK_AS(ConfigError, set_lp.param_size() <= num_params, "has ", set_lp.param_size(),
                     " `param` specs but only ", num_params, " parameter blob(s)");
      for (int k = 0; k < num_params; ++k) {
        const bool learn = !(k < set_lp.param_size() && set_lp.param(k).lr_mult() == 0);
        layer.set_param_propagate_down(k, learn && layer.param_propagate_down(k));
        need_backward |= learn;
        append_param(set_lp, id, k);
      }
      for (int tid : top_id_vecs_[id]) blob_need_backward_[tid] = need_backward;
      layer_need_backward_.push_back(need_backward);
    } catch (...) {
      if (layers_.size() < layer_names_.size()) layers_.emplace_back();  // keep indices aligned
      rethrow_with_context(layer_where(id));
    }
  }
  // Backward only through layers that lead to a loss and have something to update.
  std::set<std::string> under_loss, skip_backprop;
  for (int id = n - 1; id >= 0; --id) {
    bool contributes = false, skip_down = true;
    for (size_t j = 0; j < top_id_vecs_[id].size(); ++j) {
      const std::string& bn = blob_names_[top_id_vecs_[id][j]];
      if (layers_[id]->loss(static_cast<int>(j)) != T(0) || under_loss.count(bn)) contributes = true;
      if (!skip_backprop.count(bn)) skip_down = false;
      if (contributes && !skip_down) break;
    }
    if (layer_need_backward_[id] && skip_down) {
      layer_need_backward_[id] = false;
      std::fill(bottom_need_backward_[id].begin(), bottom_need_backward_[id].end(), false);
    }
    if (!contributes) layer_need_backward_[id] = false;
    for (size_t j = 0; j < bottom_id_vecs_[id].size(); ++j) {
      const std::string& bn = blob_names_[bottom_id_vecs_[id][j]];
      if (contributes)
        under_loss.insert(bn);
      else
        bottom_need_backward_[id][j] = false;
      if (!bottom_need_backward_[id][j]) skip_backprop.insert(bn);
    }
  }
  if (param.force_backward()) {
    for (int id = 0; id < n; ++id) {
      layer_need_backward_[id] = true;
      for (size_t j = 0; j < bottom_id_vecs_[id].size(); ++j) {
        const bool down = bottom_need_backward_[id][j] ||
                          layers_[id]->allow_force_backward(static_cast<int>(j));
        bottom_need_backward_[id][j] = down;
        if (down) blob_need_backward_[bottom_id_vecs_[id][j]] = true;
      }
      for (size_t k = 0; k < layers_[id]->blobs().size(); ++k)
        layers_[id]->set_param_propagate_down(static_cast<int>(k), true);
    }
  }
  for (const auto& [name, bid] : available) output_blob_ids_.push_back(bid);
  std::sort(output_blob_ids_.begin(), output_blob_ids_.end());
  // Blobs that share storage with another blob by construction keep their own arrangement.
  blob_aliased_.assign(blobs_.size(), false);
  std::map<const SyncedMemory*, int> owner;
  for (size_t b = 0; b < blobs_.size(); ++b) {
    auto [it, fresh] = owner.emplace(blobs_[b]->data_memory().get(), static_cast<int>(b));
    if (!fresh) blob_aliased_[b] = blob_aliased_[it->second] = true;
  }
  if (phase_ == TEST && !param.force_backward()) set_memory_reuse(true);
}

// Note [Activation reuse]
// A TEST net runs forward only, so a blob's buffer is free once its last consumer has run.
// Blob b lives from the first layer that writes it to the last layer that reads or writes it
// (outputs and loss blobs live to the end; inputs keep their own buffers, which the caller fills
// at any time). Blobs are taken in order of birth and each gets
// the pool whose last user died strictly before b is born (a layer never reads and writes the
// same pool), best fit by size. Blobs aliased by construction are left alone. Layers reshape
// their tops every forward; a top that outgrows its pool gets its own buffer, which stays
// correct, and Net::reshape() plans again.
template <class T>
void Net<T>::plan_memory() {
  const int n = static_cast<int>(layers_.size());
  const int nb = static_cast<int>(blobs_.size());
  std::vector<int> first(nb, n), last(nb, -1);
  for (int l = 0; l < n; ++l) {
    for (int b : top_id_vecs_[l]) first[b] = std::min(first[b], l), last[b] = std::max(last[b], l);
    for (int b : bottom_id_vecs_[l]) last[b] = std::max(last[b], l);
  }
  for (int b : output_blob_ids_) last[b] = n;
  // Tops of source layers (Input, Data) hold what the caller or loader put there, possibly
  // before this plan is made: they keep their own buffers.
  std::vector<bool> source(nb, false);
  for (int l = 0; l < n; ++l)
    if (bottom_id_vecs_[l].empty())
      for (int b : top_id_vecs_[l]) source[b] = true;
  for (int b = 0; b < nb; ++b)
    if (blob_loss_weights_[b] != T(0)) last[b] = n;
  std::vector<int> order;
  for (int b = 0; b < nb; ++b)
    if (!blob_aliased_[b] && !source[b] && first[b] < n && blobs_[b]->count() > 0)
      order.push_back(b);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return first[a] < first[b]; });
  struct Pool {
    int last;
    size_t bytes;
    std::vector<int> blobs;
  };
  std::vector<Pool> pools;
  for (int b : order) {
    const size_t need = sizeof(T) * static_cast<size_t>(blobs_[b]->count());
    int best = -1;
    for (size_t p = 0; p < pools.size(); ++p) {
      if (pools[p].last >= first[b]) continue;
      auto cost = [&](const Pool& q) { return q.bytes >= need ? q.bytes - need : 4 * (need - q.bytes); };
      if (best < 0 || cost(pools[p]) < cost(pools[best])) best = static_cast<int>(p);
    }
    if (best < 0) {
      pools.push_back({last[b], need, {b}});
    } else {
      pools[best].last = last[b];
      pools[best].bytes = std::max(pools[best].bytes, need);
      pools[best].blobs.push_back(b);
    }
  }
  for (const Pool& p : pools) {
    auto mem = std::make_shared<SyncedMemory>(p.bytes);
    for (int b : p.blobs) blobs_[b]->set_data_memory(mem);
  }
}

template <class T>
void Net<T>::set_memory_reuse(bool on) {
  reuse_ = on;
  if (on) {
    plan_memory();
    return;
  }
  // Give every pooled blob a buffer of its own again.
  for (size_t b = 0; b < blobs_.size(); ++b)
    if (!blob_aliased_[b] && blobs_[b]->count() > 0)
      blobs_[b]->set_data_memory(
          std::make_shared<SyncedMemory>(sizeof(T) * static_cast<size_t>(blobs_[b]->count())));
}

template <class T>
void Net<T>::append_top(const LayerParameter& lp, int layer_id, int top_id,
                        std::map<std::string, int>* available) {
  const std::string& name = lp.top(top_id);
  if (top_id < lp.bottom_size() && lp.bottom(top_id) == name) {
    // In place: the top is the bottom blob itself.
    const int bid = bottom_id_vecs_[layer_id][top_id];
    top_vecs_[layer_id].push_back(blobs_[bid].get());
    top_id_vecs_[layer_id].push_back(bid);
    if (available) (*available)[name] = bid;
    return;
  }
  if (blob_index_.count(name)) {
    throw ConfigError(str_cat("top '", name, "' is already produced by an earlier layer; ",
                              "a blob may be rewritten only in place (top equal to the bottom at ",
                              "the same position): rename this top"));
  }
  const int bid = static_cast<int>(blobs_.size());
  blobs_.push_back(std::make_shared<Tensor<T>>());
  blob_names_.push_back(name);
  blob_index_[name] = bid;
  blob_need_backward_.push_back(false);
  blob_loss_weights_.push_back(T(0));
  top_vecs_[layer_id].push_back(blobs_[bid].get());
  top_id_vecs_[layer_id].push_back(bid);
  if (available) (*available)[name] = bid;
}

template <class T>
int Net<T>::append_bottom(const NetParameter& param, int layer_id, int bottom_id,
                          std::map<std::string, int>* available) {
  const std::string& name = param.layer(layer_id).bottom(bottom_id);
  auto it = available->find(name);
  if (it == available->end()) {
    std::string msg = str_cat("bottom '", name, "' is not produced by any earlier layer in phase ",
                              phase_name(phase_));
    if (blob_index_.count(name))
      msg += " (it was consumed already; a blob feeds several layers only through its producer)";
    std::vector<std::string> known;
    for (const auto& [k, v] : *available) known.push_back("'" + k + "'");
    msg += known.empty() ? "; no blobs are available here (is the input/data layer excluded "
                           "from this phase?)"
                         : "; available blobs: " + join(known);
    throw ConfigError(msg);
  }
  const int bid = it->second;
  bottom_vecs_[layer_id].push_back(blobs_[bid].get());
  bottom_id_vecs_[layer_id].push_back(bid);
  available->erase(it);
  return bid;
}

template <class T>
void Net<T>::append_param(const LayerParameter& lp, int layer_id, int k) {
  const std::string spec_name = k < lp.param_size() ? lp.param(k).name() : std::string();
  const int net_id = static_cast<int>(params_.size());
  auto blob = layers_[layer_id]->blobs()[k];
  params_.push_back(blob);
  param_id_vecs_[layer_id].push_back(net_id);
  param_display_names_.push_back(spec_name.empty() ? str_cat(lp.name(), ".", k) : spec_name);
  const bool has_spec = k < lp.param_size();
  const float lr = has_spec ? lp.param(k).lr_mult() : 1.f;
  const float decay = has_spec ? lp.param(k).decay_mult() : 1.f;
  auto owner = spec_name.empty() ? param_names_index_.end() : param_names_index_.find(spec_name);
  if (owner == param_names_index_.end()) {
    if (!spec_name.empty()) param_names_index_[spec_name] = net_id;
    param_owners_.push_back(-1);
    learnable_params_.push_back(blob.get());
    params_lr_.push_back(lr);
    params_decay_.push_back(decay);
    return;
  }
  const int owner_id = owner->second;
  Tensor<T>& owner_blob = *params_[owner_id];
  CREMA_CHECK_AS(ShapeError, owner_blob.shape() == blob->shape(), "shared parameter '", spec_name,
                 "' has shape ", blob->shape_string(), " here but ", owner_blob.shape_string(),
                 " in its first layer; layers sharing a parameter need equal shapes");
  // Find the owner's slot among learnable params to compare multipliers.
  int learn_idx = 0;
  for (int i = 0; i < owner_id; ++i) learn_idx += param_owners_[i] < 0;
  CREMA_CHECK_AS(ConfigError, !has_spec || !lp.param(k).has_lr_mult() || params_lr_[learn_idx] == lr,
                 "shared parameter '", spec_name, "' has lr_mult ", lr, " here but ",
                 params_lr_[learn_idx], " in its first layer; give them the same lr_mult");
  blob->share_data(owner_blob);
  blob->share_diff(owner_blob);
  param_owners_.push_back(owner_id);
}

template <class T>
T Net<T>::forward() {
  T loss = 0;
  for (size_t i = 0; i < layers_.size(); ++i) {
    try {
      loss += layers_[i]->forward(ctx_, bottom_vecs_[i], top_vecs_[i]);
    } catch (...) {
      rethrow_with_context(layer_where(static_cast<int>(i)));
    }
  }
  return loss;
}

template <class T>
void Net<T>::backward() {
  for (int i = static_cast<int>(layers_.size()) - 1; i >= 0; --i) {
    if (layer_need_backward_[i]) {
      try {
        layers_[i]->backward(ctx_, top_vecs_[i], bottom_need_backward_[i], bottom_vecs_[i]);
      } catch (...) {
        rethrow_with_context(layer_where(i));
      }
    }
    if (backward_hook_) backward_hook_(i);
  }
}

template <class T>
std::vector<int> Net<T>::learnable_param_ready_layers() const {
  // Learnable params are the owners, numbered in the order params_ lists them.
  std::vector<int> learn_of(params_.size(), -1);
  int k = 0;
  for (size_t p = 0; p < params_.size(); ++p)
    if (param_owners_[p] < 0) learn_of[p] = k++;
  std::vector<int> ready(learnable_params_.size(), static_cast<int>(layers_.size()));
  for (int layer = 0; layer < static_cast<int>(layers_.size()); ++layer)
    for (int p : param_id_vecs_[layer]) {
      const int owner = param_owners_[p] < 0 ? p : param_owners_[p];
      ready[learn_of[owner]] = std::min(ready[learn_of[owner]], layer);
    }
  return ready;
}

template <class T>
std::vector<std::string> Net<T>::learnable_param_names() const {
  std::vector<std::string> names;
  for (size_t p = 0; p < params_.size(); ++p)
    if (param_owners_[p] < 0) names.push_back(param_display_names_[p]);
  return names;
}

template <class T>
void Net<T>::reshape() {
  for (size_t i = 0; i < layers_.size(); ++i) {
    try {
      layers_[i]->reshape(ctx_, bottom_vecs_[i], top_vecs_[i]);
    } catch (...) {
      rethrow_with_context(layer_where(static_cast<int>(i)));
    }
  }
  if (reuse_) plan_memory();
}

template <class T>
void Net<T>::clear_param_diffs() {
  for (Tensor<T>* p : learnable_params_) p->set_diff(T(0));
}

template <class T>
std::shared_ptr<Tensor<T>> Net<T>::blob_by_name(const std::string& name) const {
  auto it = blob_index_.find(name);
  if (it == blob_index_.end())
    throw ConfigError(str_cat("net '", name_, "' has no blob '", name, "'; blobs: ",
                              join(blob_names_)));
  return blobs_[it->second];
}

template <class T>
int Net<T>::layer_index(const std::string& name) const {
  for (size_t i = 0; i < layer_names_.size(); ++i)
    if (layer_names_[i] == name) return static_cast<int>(i);
  return -1;
}

template <class T>
WeightsReport Net<T>::copy_trained_layers_from(const NetParameter& weights, bool strict) {
  WeightsReport report;
  std::set<std::string> seen;
  auto copy_layer = [&](const std::string& lname, const auto& src_blobs) {
    if (src_blobs.size() == 0) return;
    seen.insert(lname);
    const int id = layer_index(lname);
    if (id < 0) {
      report.unused.push_back(lname);
      return;
    }
    auto& dst = layers_[id]->blobs();
    std::string why;
    if (static_cast<size_t>(src_blobs.size()) != dst.size()) {
      why = str_cat("the file has ", src_blobs.size(), " blob(s), the net expects ", dst.size());
    } else {
      for (int k = 0; k < src_blobs.size() && why.empty(); ++k)
        if (!dst[k]->shape_equals(src_blobs.Get(k)))
          why = str_cat("blob ", k, " has shape ", shape_string(proto_shape(src_blobs.Get(k))),
                        " in the file, the net expects ", dst[k]->shape_string());
    }
    if (!why.empty()) {
      if (strict)
        throw ShapeError(str_cat("weights for layer '", lname, "' (", layers_[id]->type(),
                                 ") do not fit: ", why,
                                 "; check that the weights belong to this model (to fine-tune "
                                 "with some layers changed, use `crema train --weights`)"));
      report.mismatched.push_back(lname + ": " + why);
      return;
    }
    for (int k = 0; k < src_blobs.size(); ++k) dst[k]->from_proto(src_blobs.Get(k), false);
    report.copied.push_back(lname);
  };
  for (const auto& l : weights.layer()) copy_layer(l.name(), l.blobs());
  for (const auto& l : weights.layers()) copy_layer(l.name(), l.blobs());
  for (size_t i = 0; i < layers_.size(); ++i)
    if (!layers_[i]->blobs().empty() && !seen.count(layer_names_[i]))
      report.missing.push_back(layer_names_[i]);
  return report;
}

template <class T>
WeightsReport Net<T>::copy_trained_layers_from(const std::string& path, bool strict) {
  NetParameter weights;
  read_checksummed_proto(path, &weights);
  try {
    return copy_trained_layers_from(weights, strict);
  } catch (...) {
    rethrow_with_context(path + ": ");
  }
}

template <class T>
void Net<T>::share_trained_layers_with(const Net& other) {
  for (size_t i = 0; i < other.layers_.size(); ++i) {
    const int id = layer_index(other.layer_names_[i]);
    if (id < 0) continue;
    auto& src = other.layers_[i]->blobs();
    auto& dst = layers_[id]->blobs();
    CREMA_CHECK_AS(ShapeError, src.size() == dst.size(), "layer '", other.layer_names_[i],
                   "' has ", src.size(), " parameter blobs in the ", phase_name(other.phase_),
                   " net but ", dst.size(), " in the ", phase_name(phase_), " net");
    for (size_t k = 0; k < src.size(); ++k) {
      CREMA_CHECK_AS(ShapeError, src[k]->shape() == dst[k]->shape(), "layer '",
                     other.layer_names_[i], "' parameter ", k, " is ", src[k]->shape_string(),
                     " in the ", phase_name(other.phase_), " net but ", dst[k]->shape_string(),
                     " in the ", phase_name(phase_), " net");
      dst[k]->share_data(*src[k]);
    }
  }
}

template <class T>
void Net<T>::to_proto(NetParameter* param, bool write_diff) const {
  param->Clear();
  param->set_name(name_);
  for (size_t i = 0; i < layers_.size(); ++i) {
    if (layer_is_split_[i]) continue;  // inserted by the net, not part of the model
    LayerParameter* lp = param->add_layer();
    *lp = layers_[i]->layer_param();
    lp->clear_blobs();
    for (const auto& b : layers_[i]->blobs()) b->to_proto(lp->add_blobs(), write_diff);
  }
}

template <class T>
std::map<std::string, std::string> Net<T>::save_layer_states() const {
  std::map<std::string, std::string> out;
  for (size_t i = 0; i < layers_.size(); ++i) {
    std::string s = layers_[i]->save_state();
    if (!s.empty()) out[layer_names_[i]] = std::move(s);
  }
  return out;
}

template <class T>
void Net<T>::load_layer_states(const std::map<std::string, std::string>& states) {
  for (size_t i = 0; i < layers_.size(); ++i) {
    auto it = states.find(layer_names_[i]);
    if (it == states.end()) continue;
    try {
      layers_[i]->load_state(it->second);
    } catch (...) {
      rethrow_with_context(layer_where(static_cast<int>(i)));
    }
  }
}

template <class T>
size_t Net<T>::activation_bytes() const {
  std::unordered_set<const SyncedMemory*> seen;
  size_t bytes = 0;
  for (const auto& b : blobs_)
    if (seen.insert(b->data_memory().get()).second) bytes += b->data_memory()->size();
  // Diffs are allocated only when something writes them: in nets that run backward.
  if (std::find(layer_need_backward_.begin(), layer_need_backward_.end(), true) !=
      layer_need_backward_.end())
    for (const auto& b : blobs_) bytes += sizeof(T) * static_cast<size_t>(b->count());
  return bytes;
}

template <class T>
size_t Net<T>::activation_bytes_without_reuse() const {
  std::unordered_set<const SyncedMemory*> seen;
  size_t bytes = 0;
  for (size_t b = 0; b < blobs_.size(); ++b)
    if (!blob_aliased_[b] || seen.insert(blobs_[b]->data_memory().get()).second)
      bytes += sizeof(T) * static_cast<size_t>(blobs_[b]->count());
  return bytes;
}

template <class T>
size_t Net<T>::param_bytes() const {
  size_t bytes = 0;
  for (const Tensor<T>* p : learnable_params_) bytes += 2 * sizeof(T) * p->count();
  return bytes;
}

CREMA_INSTANTIATE_CLASS(Net);

}  // namespace crema
