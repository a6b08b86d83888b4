#include "core/layer.h"

#include "core/blas.h"
#include "core/filler.h"
#include "core/rng.h"

namespace crema {

template <class T>
Layer<T>::Layer(const LayerParameter& param) : param_(param), phase_(param.phase()) {
  // Blobs carried in the LayerParameter (e.g. from a caffemodel) are loaded by the net.
  param_.clear_blobs();
}

template <class T>
void Layer<T>::check_blob_counts(const TensorVec<T>& bottom, const TensorVec<T>& top) const {
  const int nb = static_cast<int>(bottom.size()), nt = static_cast<int>(top.size());
  auto expect = [](const char* what, int got, int exact, int lo, int hi) {
    if (exact >= 0 && got != exact)
      throw ConfigError(str_cat("takes exactly ", exact, " ", what, " blob",
                                exact == 1 ? "" : "s", ", got ", got));
    if (lo >= 0 && got < lo)
      throw ConfigError(str_cat("takes at least ", lo, " ", what, " blob", lo == 1 ? "" : "s",
                                ", got ", got));
    if (hi >= 0 && got > hi)
      throw ConfigError(str_cat("takes at most ", hi, " ", what, " blob", hi == 1 ? "" : "s",
                                ", got ", got));
  };
  expect("bottom", nb, exact_num_bottom(), min_num_bottom(), max_num_bottom());
  expect("top", nt, exact_num_top(), min_num_top(), max_num_top());
  if (equal_num_bottom_top() && nb != nt)
    throw ConfigError(str_cat("needs as many top blobs as bottom blobs, got ", nb, " bottom and ",
                              nt, " top"));
}

template <class T>
void Layer<T>::setup(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  check_blob_counts(bottom, top);
  layer_setup(ctx, bottom, top);
  reshape(ctx, bottom, top);
  const int nt = static_cast<int>(top.size());
  if (param_.loss_weight_size() > 0) {
    CREMA_CHECK_AS(ConfigError, param_.loss_weight_size() == nt, "has ",
                   param_.loss_weight_size(), " loss_weight values for ", nt,
                   " top blobs; give one per top");
  }
  for (int i = 0; i < param_.loss_weight_size(); ++i) set_loss(i, param_.loss_weight(i));
  if (param_propagate_down_.size() < blobs_.size()) param_propagate_down_.resize(blobs_.size(), true);
}

template <class T>
void Layer<T>::set_loss(int top_index, T value) {
  if (static_cast<int>(loss_.size()) <= top_index) loss_.resize(top_index + 1, T(0));
  loss_[top_index] = value;
}

template <class T>
void Layer<T>::set_param_propagate_down(int i, bool value) {
  if (static_cast<int>(param_propagate_down_.size()) <= i) param_propagate_down_.resize(i + 1, true);
  param_propagate_down_[i] = value;
}

template <class T>
T Layer<T>::forward(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  reshape(ctx, bottom, top);
  if (ctx.on_gpu()) {
    forward_gpu(ctx, bottom, top);
  } else {
    forward_cpu(ctx, bottom, top);
  }
  T loss = 0;
  for (size_t i = 0; i < top.size() && i < loss_.size(); ++i) {
    if (loss_[i] == T(0)) continue;
    // The top's diff holds its loss weight: it is both the weight here and the seed of backward.
    top[i]->set_diff(loss_[i]);
    loss += blas::dot<T>(top[i]->count(), top[i]->cpu_data(), top[i]->cpu_diff());
  }
  return loss;
}

template <class T>
void Layer<T>::backward(Context& ctx, const TensorVec<T>& top,
                        const std::vector<bool>& propagate_down, const TensorVec<T>& bottom) {
  if (ctx.on_gpu()) {
    backward_gpu(ctx, top, propagate_down, bottom);
  } else {
    backward_cpu(ctx, top, propagate_down, bottom);
  }
}

template <class T>
void Layer<T>::forward_gpu(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  throw DeviceError(str_cat("layer '", name(), "' (", type(),
                            ") has no GPU path in this build of Crema; run it on the CPU"));
}

template <class T>
void Layer<T>::backward_gpu(Context& ctx, const TensorVec<T>& top,
                            const std::vector<bool>& propagate_down,
                            const TensorVec<T>& bottom) {
  throw DeviceError(str_cat("layer '", name(), "' (", type(),
                            ") has no GPU path in this build of Crema; run it on the CPU"));
}

template <class T>
void Layer<T>::fill_blob(Context& ctx, const FillerParameter& filler, int index) {
  const uint64_t name_hash = rng::hash_name(param_.name().c_str());
  fill(filler, blobs_[index].get(), rng::bits(ctx.seed, name_hash, static_cast<uint64_t>(index)));
}

CREMA_INSTANTIATE_CLASS(Layer);

}  // namespace crema
