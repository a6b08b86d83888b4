#include "ops/l1_loss_layer.h"

#include <algorithm>

#include "core/parallel.h"

namespace crema {

template <class T>
void L1LossLayer<T>::layer_setup(Context& ctx, const TensorVec<T>& bottom,
                                 const TensorVec<T>& top) {
  if (this->layer_param().loss_weight_size() == 0) this->set_loss(0, T(1));
}

template <class T>
void L1LossLayer<T>::reshape(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  const Tensor<T>& a = *bottom[0];
  const Tensor<T>& b = *bottom[1];
  CREMA_SHAPE_CHECK(a.num_axes() >= 1 && b.num_axes() >= 1,
                    "bottoms need a batch axis; got shapes ", a.shape_string(), " and ",
                    b.shape_string());
  CREMA_SHAPE_CHECK(a.count() == b.count() && a.shape(0) == b.shape(0), "bottom 1 has shape ",
                    b.shape_string(), " but bottom 0 has shape ", a.shape_string(),
                    "; both need the same number of elements and the same first (batch) "
                    "dimension");
  num_ = a.shape(0);
  args_.count = a.count();
  args_.block = kBlock;
  partial_.reshape({(args_.count + kBlock - 1) / kBlock});
  top[0]->reshape(std::vector<int64_t>{});
}

template <class T>
void L1LossLayer<T>::forward_cpu(Context& ctx, const TensorVec<T>& bottom,
                                 const TensorVec<T>& top) {
  const T* x0 = bottom[0]->cpu_data();
  const T* x1 = bottom[1]->cpu_data();
  double* partial = partial_.mutable_cpu_data();
  const kernels::L1LossArgs a = args_;
  const int64_t blocks = partial_.count();
  parallel_for_heavy(ctx, blocks,
                     [&](int64_t i) { kernels::l1_loss_forward(i, a, x0, x1, partial); });
  double sum = 0;
  for (int64_t i = 0; i < blocks; ++i) sum += partial[i];
  top[0]->mutable_cpu_data()[0] =
      static_cast<T>(sum / static_cast<double>(std::max<int64_t>(num_, 1)));
}

template <class T>
void L1LossLayer<T>::backward_cpu(Context& ctx, const TensorVec<T>& top,
                                  const std::vector<bool>& propagate_down,
                                  const TensorVec<T>& bottom) {
  const T* x0 = bottom[0]->cpu_data();
  const T* x1 = bottom[1]->cpu_data();
  const T w = top[0]->cpu_diff()[0] / static_cast<T>(std::max<int64_t>(num_, 1));
  for (int k = 0; k < 2; ++k) {
    if (!propagate_down[k]) continue;
    const T alpha = k == 0 ? w : -w;
    T* dx = bottom[k]->mutable_cpu_diff();
    parallel_for(ctx, args_.count,
                 [&](int64_t j) { kernels::l1_loss_backward(j, x0, x1, alpha, dx); });
  }
}

CREMA_INSTANTIATE_CLASS(L1LossLayer);

}  // namespace crema
