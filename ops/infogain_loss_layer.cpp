#include "ops/infogain_loss_layer.h"

#include "core/io.h"
#include "core/parallel.h"
#include "ops/class_label.h"
#include "ops/device_ops.h"
#include "ops/loss_normalization.h"

namespace crema {

template <class T>
void InfogainLossLayer<T>::layer_setup(Context& ctx, const TensorVec<T>& bottom,
                                       const TensorVec<T>& top) {
  const LayerParameter& p = this->layer_param();
  if (p.loss_weight_size() == 0) this->set_loss(0, T(1));
  CREMA_LAYER_CHECK(p.loss_weight_size() < 2 || p.loss_weight(1) == 0,
                    "top 1 (the probabilities) has loss_weight ", p.loss_weight(1),
                    ", but InfogainLoss does not backpropagate through it; set its "
                    "loss_weight to 0 or feed the probabilities to a separate loss layer");
  const LossParameter& lp = p.loss_param();
  CREMA_LAYER_CHECK(!lp.has_normalize(),
                    "loss_param.normalize is deprecated and InfogainLoss "
                    "rejects it (as Caffe); use loss_param.normalization instead");
  normalization_ = lp.normalization();
  args_.has_ignore_label = lp.has_ignore_label();
  args_.ignore_label = lp.ignore_label();
  if (bottom.size() < 3) {
    const InfogainLossParameter& ip = p.infogain_loss_param();
    CREMA_LAYER_CHECK(ip.has_source(),
                      "needs the infogain matrix H: give it as a third bottom "
                      "or set infogain_loss_param.source to a BlobProto file");
    BlobProto proto;
    read_binary_proto(ip.source(), &proto);
    infogain_.from_proto(proto);
  }
}

template <class T>
void InfogainLossLayer<T>::reshape(Context& ctx, const TensorVec<T>& bottom,
                                   const TensorVec<T>& top) {
  const Tensor<T>& x = *bottom[0];
  const int num_axes = x.num_axes();
  const int axis = this->layer_param().infogain_loss_param().axis();
  CREMA_SHAPE_CHECK(axis >= -num_axes && axis < num_axes, "infogain_loss_param.axis ", axis,
                    " is out of range for bottom 0 of shape ", x.shape_string(),
                    "; use an axis in [", -num_axes, ", ", num_axes, ")");
  axis_ = x.canonical_axis(axis);
  softmax_.outer = x.count(0, axis_);
  softmax_.channels = x.shape(axis_);
  softmax_.inner = x.count(axis_ + 1);
  const int64_t positions = softmax_.outer * softmax_.inner;
  CREMA_SHAPE_CHECK(bottom[1]->count() == positions, "bottom 1 (labels) has shape ",
                    bottom[1]->shape_string(), " but bottom 0 (scores) of shape ", x.shape_string(),
                    " with infogain axis ", axis_, " needs ", positions,
                    " labels, one per position of the axes other than ", axis_,
                    " (e.g. N*H*W labels for N x C x H x W scores and axis 1)");
  const int64_t c = softmax_.channels;
  CREMA_SHAPE_CHECK(c > 0, "bottom 0 of shape ", x.shape_string(), " has no classes along axis ",
                    axis_);
  const Tensor<T>& h = bottom.size() > 2 ? *bottom[2] : infogain_;
  CREMA_SHAPE_CHECK(h.count() == c * c, "the infogain matrix H ",
                    bottom.size() > 2 ? "(bottom 2)" : "(infogain_loss_param.source)",
                    " has shape ", h.shape_string(), " but bottom 0 of shape ", x.shape_string(),
                    " has ", c, " classes along axis ", axis_, "; H must hold ", c, " x ", c,
                    " values");
  args_.outer = softmax_.outer;
  args_.channels = c;
  args_.inner = softmax_.inner;
  prob_.reshape(x.shape());
  item_loss_.reshape({positions});
  item_state_.reshape({positions});
  top[0]->reshape(std::vector<int64_t>{});
  if (top.size() > 1) top[1]->reshape(x.shape());
}

template <class T>
void InfogainLossLayer<T>::forward_cpu(Context& ctx, const TensorVec<T>& bottom,
                                       const TensorVec<T>& top) {
  const T* x = bottom[0]->cpu_data();
  const T* label = bottom[1]->cpu_data();
  const T* h = infogain(bottom).cpu_data();
  T* prob = prob_.mutable_cpu_data();
  T* loss = item_loss_.mutable_cpu_data();
  T* state = item_state_.mutable_cpu_data();
  const kernels::SoftmaxArgs sa = softmax_;
  const kernels::InfogainLossArgs a = args_;
  const int64_t positions = a.outer * a.inner;
  parallel_for(ctx, positions, [&](int64_t i) { kernels::softmax_forward(i, sa, x, prob); });
  parallel_for(ctx, positions, [&](int64_t i) {
    kernels::infogain_loss_forward(i, a, prob, label, h, loss, state);
  });
  finish_forward(ctx, loss, state, bottom, top);
}

template <class T>
void InfogainLossLayer<T>::finish_forward(Context& ctx, const T* loss, const T* state,
                                          const TensorVec<T>& bottom, const TensorVec<T>& top) {
  const kernels::InfogainLossArgs& a = args_;
  const auto [total, valid] = loss_sum_.sum(ctx, a.outer * a.inner, loss, state, *bottom[1],
                                            a.channels, axis_, a.has_ignore_label, a.ignore_label);
  const double normalizer = loss_normalizer(normalization_, a.outer, a.inner, valid);
  normalizer_ = static_cast<T>(normalizer);
  top[0]->mutable_cpu_data()[0] = static_cast<T>(total / normalizer);
  if (top.size() > 1) {
    const DeviceOps<T> dev(ctx);
    dev.copy(prob_.count(), dev.data(prob_), dev.mutable_data(*top[1]));
  }
}

template <class T>
T InfogainLossLayer<T>::backward_scale(const TensorVec<T>& top,
                                       const std::vector<bool>& propagate_down) const {
  CREMA_LAYER_CHECK(!propagate_down[1],
                    "cannot backpropagate to labels (bottom 1); set propagate_down: false for it");
  CREMA_LAYER_CHECK(propagate_down.size() < 3 || !propagate_down[2],
                    "cannot backpropagate to the infogain matrix (bottom 2); set "
                    "propagate_down: false for it");
  return top[0]->cpu_diff()[0] / normalizer_;
}

template <class T>
void InfogainLossLayer<T>::backward_cpu(Context& ctx, const TensorVec<T>& top,
                                        const std::vector<bool>& propagate_down,
                                        const TensorVec<T>& bottom) {
  const T scale = backward_scale(top, propagate_down);
  if (!propagate_down[0]) return;
  const T* prob = prob_.cpu_data();
  const T* label = bottom[1]->cpu_data();
  const T* h = infogain(bottom).cpu_data();
  T* dx = bottom[0]->mutable_cpu_diff();
  const kernels::InfogainLossArgs a = args_;
  parallel_for(ctx, a.outer * a.inner, [&](int64_t i) {
    kernels::infogain_loss_backward(i, a, prob, label, h, scale, dx);
  });
}

#if CREMA_WITH_CUDA
template <class T>
void InfogainLossLayer<T>::forward_gpu(Context& ctx, const TensorVec<T>& bottom,
                                       const TensorVec<T>& top) {
  const int64_t positions = args_.outer * args_.inner;
  T* prob = prob_.mutable_gpu_data(ctx);
  cuda::launch_softmax_forward<T>(ctx.cuda_stream(), positions, softmax_, bottom[0]->gpu_data(ctx),
                                  prob);
  T* loss = item_loss_.mutable_gpu_data(ctx);
  T* state = item_state_.mutable_gpu_data(ctx);
  cuda::launch_infogain_loss_forward<T>(ctx.cuda_stream(), positions, args_, prob,
                                        bottom[1]->gpu_data(ctx), infogain(bottom).gpu_data(ctx),
                                        loss, state);
  // Only block sums come back, for the label report and the fixed-order sum.
  finish_forward(ctx, loss, state, bottom, top);
}

template <class T>
void InfogainLossLayer<T>::backward_gpu(Context& ctx, const TensorVec<T>& top,
                                        const std::vector<bool>& propagate_down,
                                        const TensorVec<T>& bottom) {
  const T scale = backward_scale(top, propagate_down);
  if (!propagate_down[0]) return;
  cuda::launch_infogain_loss_backward<T>(ctx.cuda_stream(), args_.outer * args_.inner, args_,
                                         prob_.gpu_data(ctx), bottom[1]->gpu_data(ctx),
                                         infogain(bottom).gpu_data(ctx), scale,
                                         bottom[0]->mutable_gpu_diff(ctx));
}
#endif

CREMA_INSTANTIATE_CLASS(InfogainLossLayer);

}  // namespace crema
