#include "ops/softmax_loss_layer.h"

#include <algorithm>

#include "core/parallel.h"
#include "ops/class_label.h"
#include "ops/device_ops.h"
#include "ops/loss_normalization.h"
#include "ops/softmax_layer.h"

namespace crema {

template <class T>
void SoftmaxWithLossLayer<T>::layer_setup(Context& ctx, const TensorVec<T>& bottom,
                                          const TensorVec<T>& top) {
  const LayerParameter& p = this->layer_param();
  if (p.loss_weight_size() == 0) this->set_loss(0, T(1));
  CREMA_LAYER_CHECK(p.loss_weight_size() < 2 || p.loss_weight(1) == 0,
                    "top 1 (the probabilities) has loss_weight ", p.loss_weight(1),
                    ", but SoftmaxWithLoss does not backpropagate through it; set its "
                    "loss_weight to 0 or feed the probabilities to a separate loss layer");
  const LossParameter& lp = p.loss_param();
  normalization_ = resolve_normalization(lp, LossParameter::VALID);
  loss_args_.has_ignore_label = lp.has_ignore_label();
  loss_args_.ignore_label = lp.ignore_label();
}

template <class T>
void SoftmaxWithLossLayer<T>::reshape(Context& ctx, const TensorVec<T>& bottom,
                                      const TensorVec<T>& top) {
  const int axis = this->layer_param().softmax_param().axis();
  softmax_ = softmax_view(*bottom[0], axis);
  axis_ = axis < 0 ? axis + bottom[0]->num_axes() : axis;
  const int64_t positions = softmax_.outer * softmax_.inner;
  CREMA_SHAPE_CHECK(bottom[1]->count() == positions, "bottom 1 (labels) has shape ",
                    bottom[1]->shape_string(), " but bottom 0 (scores) of shape ",
                    bottom[0]->shape_string(), " with softmax axis ", axis_, " needs ", positions,
                    " labels, one per position of the axes other than ", axis_,
                    " (e.g. N*H*W labels for N x C x H x W scores and axis 1)");
  loss_args_.outer = softmax_.outer;
  loss_args_.channels = softmax_.channels;
  loss_args_.inner = softmax_.inner;
  prob_.reshape(bottom[0]->shape());
  item_loss_.reshape({positions});
  item_state_.reshape({positions});
  top[0]->reshape(std::vector<int64_t>{});
  if (top.size() > 1) top[1]->reshape(bottom[0]->shape());
}

template <class T>
void SoftmaxWithLossLayer<T>::forward_cpu(Context& ctx, const TensorVec<T>& bottom,
                                          const TensorVec<T>& top) {
  const T* x = bottom[0]->cpu_data();
  const T* label = bottom[1]->cpu_data();
  T* prob = prob_.mutable_cpu_data();
  T* loss = item_loss_.mutable_cpu_data();
  T* state = item_state_.mutable_cpu_data();
  const kernels::SoftmaxArgs sa = softmax_;
  const kernels::SoftmaxLossArgs la = loss_args_;
  const int64_t positions = sa.outer * sa.inner;
  parallel_for(ctx, positions, [&](int64_t i) { kernels::softmax_forward(i, sa, x, prob); });
  parallel_for(ctx, positions,
               [&](int64_t i) { kernels::softmax_loss_forward(i, la, prob, label, loss, state); });
  finish_forward(ctx, loss, state, bottom, top);
}

template <class T>
void SoftmaxWithLossLayer<T>::finish_forward(Context& ctx, const T* loss, const T* state,
                                             const TensorVec<T>& bottom, const TensorVec<T>& top) {
  const auto [total, valid] = loss_sum_.sum(ctx, softmax_.outer * softmax_.inner, loss, state,
                                            *bottom[1], loss_args_.channels, axis_,
                                            loss_args_.has_ignore_label, loss_args_.ignore_label);
  const double normalizer = loss_normalizer(normalization_, softmax_.outer, softmax_.inner, valid);
  normalizer_ = static_cast<T>(normalizer);
  top[0]->mutable_cpu_data()[0] = static_cast<T>(total / normalizer);
  if (top.size() > 1) {
    const DeviceOps<T> dev(ctx);
    dev.copy(prob_.count(), dev.data(prob_), dev.mutable_data(*top[1]));
  }
}

template <class T>
void SoftmaxWithLossLayer<T>::backward_cpu(Context& ctx, const TensorVec<T>& top,
                                           const std::vector<bool>& propagate_down,
                                           const TensorVec<T>& bottom) {
  CREMA_LAYER_CHECK(propagate_down.size() < 2 || !propagate_down[1],
                    "cannot backpropagate to labels (bottom 1); set propagate_down: false for it");
  if (!propagate_down[0]) return;
  const T* prob = prob_.cpu_data();
  const T* label = bottom[1]->cpu_data();
  T* dx = bottom[0]->mutable_cpu_diff();
  const T scale = top[0]->cpu_diff()[0] / normalizer_;
  const kernels::SoftmaxLossArgs la = loss_args_;
  parallel_for(ctx, la.outer * la.inner,
               [&](int64_t i) { kernels::softmax_loss_backward(i, la, prob, label, scale, dx); });
}

#if CREMA_WITH_CUDA
template <class T>
void SoftmaxWithLossLayer<T>::forward_gpu(Context& ctx, const TensorVec<T>& bottom,
                                          const TensorVec<T>& top) {
  const int64_t positions = softmax_.outer * softmax_.inner;
  T* prob = prob_.mutable_gpu_data(ctx);
  cuda::launch_softmax_forward<T>(ctx.cuda_stream(), positions, softmax_, bottom[0]->gpu_data(ctx),
                                  prob);
  T* loss = item_loss_.mutable_gpu_data(ctx);
  T* state = item_state_.mutable_gpu_data(ctx);
  cuda::launch_softmax_loss_forward<T>(ctx.cuda_stream(), positions, loss_args_, prob,
                                       bottom[1]->gpu_data(ctx), loss, state);
  // Only block sums come back, for the label report and the fixed-order sum.
  finish_forward(ctx, loss, state, bottom, top);
}

template <class T>
void SoftmaxWithLossLayer<T>::backward_gpu(Context& ctx, const TensorVec<T>& top,
                                           const std::vector<bool>& propagate_down,
                                           const TensorVec<T>& bottom) {
  CREMA_LAYER_CHECK(propagate_down.size() < 2 || !propagate_down[1],
                    "cannot backpropagate to labels (bottom 1); set propagate_down: false for it");
  if (!propagate_down[0]) return;
  const T scale = top[0]->cpu_diff()[0] / normalizer_;
  cuda::launch_softmax_loss_backward<T>(ctx.cuda_stream(), loss_args_.outer * loss_args_.inner,
                                        loss_args_, prob_.gpu_data(ctx), bottom[1]->gpu_data(ctx),
                                        scale, bottom[0]->mutable_gpu_diff(ctx));
}
#endif

CREMA_INSTANTIATE_CLASS(SoftmaxWithLossLayer);

}  // namespace crema
