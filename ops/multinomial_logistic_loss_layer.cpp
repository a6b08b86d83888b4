#include "ops/multinomial_logistic_loss_layer.h"

#include <algorithm>

#include "core/parallel.h"
#include "ops/class_label.h"

namespace crema {

template <class T>
void MultinomialLogisticLossLayer<T>::layer_setup(Context& ctx, const TensorVec<T>& bottom,
                                                  const TensorVec<T>& top) {
  if (this->layer_param().loss_weight_size() == 0) this->set_loss(0, T(1));
}

template <class T>
void MultinomialLogisticLossLayer<T>::reshape(Context& ctx, const TensorVec<T>& bottom,
                                              const TensorVec<T>& top) {
  const Tensor<T>& p = *bottom[0];
  const Tensor<T>& label = *bottom[1];
  const int64_t n = samples_with_one_label(p, label, "probabilities");
  args_.num = n;
  args_.dim = n > 0 ? p.count() / n : 0;
  loss_.reshape({n});
  state_.reshape({n});
  top[0]->reshape(std::vector<int64_t>{});
}

template <class T>
void MultinomialLogisticLossLayer<T>::forward_cpu(Context& ctx, const TensorVec<T>& bottom,
                                                  const TensorVec<T>& top) {
  const T* prob = bottom[0]->cpu_data();
  const T* label = bottom[1]->cpu_data();
  T* loss = loss_.mutable_cpu_data();
  T* state = state_.mutable_cpu_data();
  const kernels::MultinomialLogisticLossArgs a = args_;
  parallel_for(ctx, a.num, [&](int64_t i) {
    kernels::multinomial_logistic_loss_forward(i, a, prob, label, loss, state);
  });
  finish_forward(bottom, top);
}

template <class T>
void MultinomialLogisticLossLayer<T>::finish_forward(const TensorVec<T>& bottom,
                                                     const TensorVec<T>& top) {
  const T* loss = loss_.cpu_data();
  check_class_labels(state_.cpu_data(), bottom[1]->cpu_data(), args_.num, args_.dim, 1, false, 0);
  double sum = 0;
  for (int64_t i = 0; i < args_.num; ++i) sum += loss[i];
  top[0]->mutable_cpu_data()[0] =
      static_cast<T>(sum / static_cast<double>(std::max<int64_t>(args_.num, 1)));
}

template <class T>
T MultinomialLogisticLossLayer<T>::backward_scale(const TensorVec<T>& top,
                                                  const std::vector<bool>& propagate_down) const {
  CREMA_LAYER_CHECK(!propagate_down[1],
                    "cannot backpropagate to labels (bottom 1); set propagate_down: false for it");
  return top[0]->cpu_diff()[0] / static_cast<T>(std::max<int64_t>(args_.num, 1));
}

template <class T>
void MultinomialLogisticLossLayer<T>::backward_cpu(Context& ctx, const TensorVec<T>& top,
                                                   const std::vector<bool>& propagate_down,
                                                   const TensorVec<T>& bottom) {
  const T scale = backward_scale(top, propagate_down);
  if (!propagate_down[0]) return;
  const T* prob = bottom[0]->cpu_data();
  const T* label = bottom[1]->cpu_data();
  T* dx = bottom[0]->mutable_cpu_diff();
  const kernels::MultinomialLogisticLossArgs a = args_;
  parallel_for(ctx, a.num * a.dim, [&](int64_t j) {
    kernels::multinomial_logistic_loss_backward(j, a, prob, label, scale, dx);
  });
}

#if CREMA_WITH_CUDA
template <class T>
void MultinomialLogisticLossLayer<T>::forward_gpu(Context& ctx, const TensorVec<T>& bottom,
                                                  const TensorVec<T>& top) {
  cuda::launch_multinomial_logistic_loss_forward<T>(
      ctx.cuda_stream(), args_.num, args_, bottom[0]->gpu_data(ctx), bottom[1]->gpu_data(ctx),
      loss_.mutable_gpu_data(ctx), state_.mutable_gpu_data(ctx));
  // Two values per sample come back for the label check and the fixed-order sum.
  finish_forward(bottom, top);
}

template <class T>
void MultinomialLogisticLossLayer<T>::backward_gpu(Context& ctx, const TensorVec<T>& top,
                                                   const std::vector<bool>& propagate_down,
                                                   const TensorVec<T>& bottom) {
  const T scale = backward_scale(top, propagate_down);
  if (!propagate_down[0]) return;
  cuda::launch_multinomial_logistic_loss_backward<T>(
      ctx.cuda_stream(), args_.num * args_.dim, args_, bottom[0]->gpu_data(ctx),
      bottom[1]->gpu_data(ctx), scale, bottom[0]->mutable_gpu_diff(ctx));
}
#endif

CREMA_INSTANTIATE_CLASS(MultinomialLogisticLossLayer);

}  // namespace crema
