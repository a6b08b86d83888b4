#include "ops/contrastive_loss_layer.h"

#include <algorithm>
#include <iomanip>
#include <limits>
#include <sstream>

#include "core/parallel.h"

namespace crema {

template <class T>
void ContrastiveLossLayer<T>::layer_setup(Context& ctx, const TensorVec<T>& bottom,
                                          const TensorVec<T>& top) {
  if (this->layer_param().loss_weight_size() == 0) this->set_loss(0, T(1));
  const ContrastiveLossParameter& p = this->layer_param().contrastive_loss_param();
  args_.margin = p.margin();
  args_.legacy = p.legacy_version();
}

template <class T>
void ContrastiveLossLayer<T>::reshape(Context& ctx, const TensorVec<T>& bottom,
                                      const TensorVec<T>& top) {
  const Tensor<T>& a = *bottom[0];
  const Tensor<T>& b = *bottom[1];
  const Tensor<T>& y = *bottom[2];
  CREMA_SHAPE_CHECK(a.num_axes() >= 1, "bottom 0 is a scalar; it needs a batch axis (N x C)");
  CREMA_SHAPE_CHECK(b.shape() == a.shape(), "bottom 1 has shape ", b.shape_string(),
                    " but bottom 0 has shape ", a.shape_string(),
                    "; the two feature bottoms of a pair must have the same shape");
  const int64_t n = a.shape(0);
  CREMA_SHAPE_CHECK(y.count() == n, "bottom 2 (similarity labels) has shape ", y.shape_string(),
                    " but bottom 0 has shape ", a.shape_string(), "; give one label per pair (", n,
                    ")");
  args_.num = n;
  args_.dim = n > 0 ? a.count() / n : 0;
  diff_.reshape(a.shape());
  dist_sq_.reshape({n});
  loss_.reshape({n});
  state_.reshape({n});
  top[0]->reshape(std::vector<int64_t>{});
}

template <class T>
void ContrastiveLossLayer<T>::forward_cpu(Context& ctx, const TensorVec<T>& bottom,
                                          const TensorVec<T>& top) {
  const T* x0 = bottom[0]->cpu_data();
  const T* x1 = bottom[1]->cpu_data();
  const T* y = bottom[2]->cpu_data();
  T* diff = diff_.mutable_cpu_data();
  T* dist_sq = dist_sq_.mutable_cpu_data();
  T* loss = loss_.mutable_cpu_data();
  T* state = state_.mutable_cpu_data();
  const kernels::ContrastiveLossArgs a = args_;
  parallel_for(ctx, a.num, [&](int64_t i) {
    kernels::contrastive_loss_forward(i, a, x0, x1, y, diff, dist_sq, loss, state);
  });
  finish_forward(bottom, top);
}

template <class T>
void ContrastiveLossLayer<T>::finish_forward(const TensorVec<T>& bottom, const TensorVec<T>& top) {
  const T* y = bottom[2]->cpu_data();
  const T* loss = loss_.cpu_data();
  const T* state = state_.cpu_data();
  double sum = 0;
  for (int64_t i = 0; i < args_.num; ++i) {
    if (state[i] == static_cast<T>(kernels::kLabelInvalid)) {
      std::ostringstream value;
      value << std::setprecision(std::numeric_limits<T>::max_digits10) << y[i];
      throw DataError(str_cat("similarity label ", value.str(), " at position ", i,
                              " of bottom 2 is not 0 or 1; give 1 for a similar pair and 0 for "
                              "a dissimilar one"));
    }
    sum += loss[i];
  }
  top[0]->mutable_cpu_data()[0] =
      static_cast<T>(sum / (2.0 * static_cast<double>(std::max<int64_t>(args_.num, 1))));
}

template <class T>
T ContrastiveLossLayer<T>::backward_weight(const TensorVec<T>& top,
                                           const std::vector<bool>& propagate_down) const {
  CREMA_LAYER_CHECK(!propagate_down[2],
                    "cannot backpropagate to the similarity labels (bottom "
                    "2); set propagate_down: false for it");
  return top[0]->cpu_diff()[0] / static_cast<T>(std::max<int64_t>(args_.num, 1));
}

template <class T>
void ContrastiveLossLayer<T>::backward_cpu(Context& ctx, const TensorVec<T>& top,
                                           const std::vector<bool>& propagate_down,
                                           const TensorVec<T>& bottom) {
  const T w = backward_weight(top, propagate_down);
  const T* y = bottom[2]->cpu_data();
  const T* diff = diff_.cpu_data();
  const T* dist_sq = dist_sq_.cpu_data();
  const kernels::ContrastiveLossArgs a = args_;
  for (int k = 0; k < 2; ++k) {
    if (!propagate_down[k]) continue;
    const T alpha = k == 0 ? w : -w;
    T* dx = bottom[k]->mutable_cpu_diff();
    parallel_for(ctx, a.num * a.dim, [&](int64_t j) {
      kernels::contrastive_loss_backward(j, a, y, diff, dist_sq, alpha, dx);
    });
  }
}

#if CREMA_WITH_CUDA
template <class T>
void ContrastiveLossLayer<T>::forward_gpu(Context& ctx, const TensorVec<T>& bottom,
                                          const TensorVec<T>& top) {
  cuda::launch_contrastive_loss_forward<T>(
      ctx.cuda_stream(), args_.num, args_, bottom[0]->gpu_data(ctx), bottom[1]->gpu_data(ctx),
      bottom[2]->gpu_data(ctx), diff_.mutable_gpu_data(ctx), dist_sq_.mutable_gpu_data(ctx),
      loss_.mutable_gpu_data(ctx), state_.mutable_gpu_data(ctx));
  // Two values per pair come back for the label check and the fixed-order sum.
  finish_forward(bottom, top);
}

template <class T>
void ContrastiveLossLayer<T>::backward_gpu(Context& ctx, const TensorVec<T>& top,
                                           const std::vector<bool>& propagate_down,
                                           const TensorVec<T>& bottom) {
  const T w = backward_weight(top, propagate_down);
  for (int k = 0; k < 2; ++k) {
    if (!propagate_down[k]) continue;
    cuda::launch_contrastive_loss_backward<T>(ctx.cuda_stream(), args_.num * args_.dim, args_,
                                              bottom[2]->gpu_data(ctx), diff_.gpu_data(ctx),
                                              dist_sq_.gpu_data(ctx), k == 0 ? w : -w,
                                              bottom[k]->mutable_gpu_diff(ctx));
  }
}
#endif

CREMA_INSTANTIATE_CLASS(ContrastiveLossLayer);

}  // namespace crema
