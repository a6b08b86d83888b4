#include "ops/accuracy_layer.h"

#include <vector>

#include "core/parallel.h"
#include "ops/class_label.h"

namespace crema {

template <class T>
void AccuracyLayer<T>::layer_setup(Context& ctx, const TensorVec<T>& bottom,
                                   const TensorVec<T>& top) {
  const AccuracyParameter& p = this->layer_param().accuracy_param();
  CREMA_LAYER_CHECK(p.top_k() >= 1, "accuracy_param.top_k is 0; it must be at least 1");
  args_.top_k = p.top_k();
  args_.has_ignore_label = p.has_ignore_label();
  args_.ignore_label = p.ignore_label();
}

template <class T>
void AccuracyLayer<T>::reshape(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  const Tensor<T>& x = *bottom[0];
  const int axis = this->layer_param().accuracy_param().axis();
  const int n = x.num_axes();
  CREMA_LAYER_CHECK(axis >= -n && axis < n, "accuracy_param.axis ", axis,
                    " is out of range for bottom 0 of shape ", x.shape_string(),
                    "; use an axis in [", -n, ", ", n, ")");
  axis_ = axis < 0 ? axis + n : axis;
  args_.outer = x.count(0, axis_);
  args_.classes = x.shape(axis_);
  args_.inner = x.count(axis_ + 1);
  CREMA_LAYER_CHECK(args_.top_k <= args_.classes, "accuracy_param.top_k ", args_.top_k,
                    " exceeds the ", args_.classes, " classes along axis ", axis_,
                    " of bottom 0 (shape ", x.shape_string(), "); use top_k <= ", args_.classes);
  const int64_t positions = args_.outer * args_.inner;
  CREMA_SHAPE_CHECK(bottom[1]->count() == positions, "bottom 1 (labels) has shape ",
                    bottom[1]->shape_string(), " but bottom 0 (scores) of shape ", x.shape_string(),
                    " with class axis ", axis_, " needs ", positions,
                    " labels, one per position of the axes other than ", axis_,
                    " (e.g. N*H*W labels for N x C x H x W scores and axis 1)");
  hit_.reshape({positions});
  state_.reshape({positions});
  top[0]->reshape(std::vector<int64_t>{});
  if (top.size() > 1) top[1]->reshape({args_.classes});
}

template <class T>
void AccuracyLayer<T>::forward_cpu(Context& ctx, const TensorVec<T>& bottom,
                                   const TensorVec<T>& top) {
  const T* x = bottom[0]->cpu_data();
  const T* label = bottom[1]->cpu_data();
  T* hit = hit_.mutable_cpu_data();
  T* state = state_.mutable_cpu_data();
  const kernels::AccuracyArgs a = args_;
  const int64_t positions = a.outer * a.inner;
  parallel_for(ctx, positions,
               [&](int64_t i) { kernels::accuracy_forward(i, a, x, label, hit, state); });
  finish_forward(bottom, top);
}

template <class T>
void AccuracyLayer<T>::finish_forward(const TensorVec<T>& bottom, const TensorVec<T>& top) {
  const kernels::AccuracyArgs a = args_;
  const int64_t positions = a.outer * a.inner;
  const T* hit = hit_.cpu_data();
  const T* state = state_.cpu_data();
  check_class_labels(state, bottom[1]->cpu_data(), positions, a.classes, axis_, a.has_ignore_label,
                     a.ignore_label);
  int64_t hits = 0, counted = 0;
  std::vector<int64_t> class_hits(a.classes, 0), class_counts(a.classes, 0);
  for (int64_t i = 0; i < positions; ++i) {
    if (state[i] < T(0)) continue;
    const auto k = static_cast<int64_t>(state[i]);
    const bool h = hit[i] != T(0);
    ++counted, ++class_counts[k];
    hits += h, class_hits[k] += h;
  }
  top[0]->mutable_cpu_data()[0] =
      counted == 0 ? T(0) : static_cast<T>(static_cast<double>(hits) / counted);
  if (top.size() > 1) {
    T* per_class = top[1]->mutable_cpu_data();
    for (int64_t k = 0; k < a.classes; ++k)
      per_class[k] = class_counts[k] == 0
                         ? T(0)
                         : static_cast<T>(static_cast<double>(class_hits[k]) / class_counts[k]);
  }
}

template <class T>
void AccuracyLayer<T>::backward_cpu(Context& ctx, const TensorVec<T>& top,
                                    const std::vector<bool>& propagate_down,
                                    const TensorVec<T>& bottom) {
  for (size_t i = 0; i < propagate_down.size(); ++i)
    CREMA_LAYER_CHECK(!propagate_down[i],
                      "Accuracy has no gradient, but backward was asked for bottom ", i,
                      "; do not give it a loss_weight or propagate_down: true");
}

#if CREMA_WITH_CUDA
template <class T>
void AccuracyLayer<T>::forward_gpu(Context& ctx, const TensorVec<T>& bottom,
                                   const TensorVec<T>& top) {
  cuda::launch_accuracy_forward<T>(ctx.cuda_stream(), args_.outer * args_.inner, args_,
                                   bottom[0]->gpu_data(ctx), bottom[1]->gpu_data(ctx),
                                   hit_.mutable_gpu_data(ctx), state_.mutable_gpu_data(ctx));
  finish_forward(bottom, top);  // one hit and one label per position come back to the host
}
#endif

CREMA_INSTANTIATE_CLASS(AccuracyLayer);

}  // namespace crema
