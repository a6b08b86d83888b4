#include "ops/sigmoid_cross_entropy_loss_layer.h"

#include "core/parallel.h"
#include "ops/loss_normalization.h"

namespace crema {

template <class T>
void SigmoidCrossEntropyLossLayer<T>::layer_setup(Context& ctx, const TensorVec<T>& bottom,
                                                  const TensorVec<T>& top) {
  if (this->layer_param().loss_weight_size() == 0) this->set_loss(0, T(1));
  const LossParameter& lp = this->layer_param().loss_param();
  normalization_ = resolve_normalization(lp, LossParameter::BATCH_SIZE);
  args_.has_ignore_label = lp.has_ignore_label();
  args_.ignore_label = lp.ignore_label();
}

template <class T>
void SigmoidCrossEntropyLossLayer<T>::reshape(Context& ctx, const TensorVec<T>& bottom,
                                              const TensorVec<T>& top) {
  const Tensor<T>& x = *bottom[0];
  const Tensor<T>& t = *bottom[1];
  CREMA_SHAPE_CHECK(x.num_axes() >= 1 && t.num_axes() >= 1,
                    "bottoms need a batch axis; got shapes ", x.shape_string(), " and ",
                    t.shape_string());
  CREMA_SHAPE_CHECK(x.count() == t.count() && x.shape(0) == t.shape(0),
                    "bottom 1 (targets) has "
                    "shape ",
                    t.shape_string(), " but bottom 0 (scores) has shape ", x.shape_string(),
                    "; both need the same number of elements and the same "
                    "first (batch) dimension");
  outer_ = x.shape(0);
  args_.count = x.count();
  args_.block = kBlock;
  const int64_t blocks = (args_.count + kBlock - 1) / kBlock;
  partial_loss_.reshape({blocks});
  partial_valid_.reshape({blocks});
  top[0]->reshape(std::vector<int64_t>{});
}

template <class T>
void SigmoidCrossEntropyLossLayer<T>::forward_cpu(Context& ctx, const TensorVec<T>& bottom,
                                                  const TensorVec<T>& top) {
  const T* x = bottom[0]->cpu_data();
  const T* t = bottom[1]->cpu_data();
  double* loss = partial_loss_.mutable_cpu_data();
  double* valid = partial_valid_.mutable_cpu_data();
  const kernels::SigmoidCrossEntropyLossArgs a = args_;
  parallel_for_heavy(ctx, partial_loss_.count(),
                     [&](int64_t i) { kernels::sigmoid_ce_loss_forward(i, a, x, t, loss, valid); });
  finish_forward(top);
}

template <class T>
void SigmoidCrossEntropyLossLayer<T>::finish_forward(const TensorVec<T>& top) {
  const double* loss = partial_loss_.cpu_data();
  const double* valid = partial_valid_.cpu_data();
  double sum = 0, n = 0;
  for (int64_t i = 0; i < partial_loss_.count(); ++i) sum += loss[i], n += valid[i];
  const int64_t inner = outer_ > 0 ? args_.count / outer_ : 0;
  const double normalizer = loss_normalizer(normalization_, outer_, inner, static_cast<int64_t>(n));
  normalizer_ = static_cast<T>(normalizer);
  top[0]->mutable_cpu_data()[0] = static_cast<T>(sum / normalizer);
}

template <class T>
T SigmoidCrossEntropyLossLayer<T>::backward_scale(const TensorVec<T>& top,
                                                  const std::vector<bool>& propagate_down) const {
  CREMA_LAYER_CHECK(!propagate_down[1],
                    "cannot backpropagate to the targets (bottom 1); set "
                    "propagate_down: false for it");
  return top[0]->cpu_diff()[0] / normalizer_;
}

template <class T>
void SigmoidCrossEntropyLossLayer<T>::backward_cpu(Context& ctx, const TensorVec<T>& top,
                                                   const std::vector<bool>& propagate_down,
                                                   const TensorVec<T>& bottom) {
  const T scale = backward_scale(top, propagate_down);
  if (!propagate_down[0]) return;
  const T* x = bottom[0]->cpu_data();
  const T* t = bottom[1]->cpu_data();
  T* dx = bottom[0]->mutable_cpu_diff();
  const kernels::SigmoidCrossEntropyLossArgs a = args_;
  parallel_for(ctx, a.count,
               [&](int64_t j) { kernels::sigmoid_ce_loss_backward(j, a, x, t, scale, dx); });
}

#if CREMA_WITH_CUDA
template <class T>
void SigmoidCrossEntropyLossLayer<T>::forward_gpu(Context& ctx, const TensorVec<T>& bottom,
                                                  const TensorVec<T>& top) {
  cuda::launch_sigmoid_ce_loss_forward<T>(ctx.cuda_stream(), partial_loss_.count(), args_,
                                          bottom[0]->gpu_data(ctx), bottom[1]->gpu_data(ctx),
                                          partial_loss_.mutable_gpu_data(ctx),
                                          partial_valid_.mutable_gpu_data(ctx));
  // Two partials per block of kBlock elements come back for the fixed-order sums.
  finish_forward(top);
}

template <class T>
void SigmoidCrossEntropyLossLayer<T>::backward_gpu(Context& ctx, const TensorVec<T>& top,
                                                   const std::vector<bool>& propagate_down,
                                                   const TensorVec<T>& bottom) {
  const T scale = backward_scale(top, propagate_down);
  if (!propagate_down[0]) return;
  cuda::launch_sigmoid_ce_loss_backward<T>(ctx.cuda_stream(), args_.count, args_,
                                           bottom[0]->gpu_data(ctx), bottom[1]->gpu_data(ctx),
                                           scale, bottom[0]->mutable_gpu_diff(ctx));
}
#endif

CREMA_INSTANTIATE_CLASS(SigmoidCrossEntropyLossLayer);

}  // namespace crema
