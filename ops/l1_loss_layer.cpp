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
  parallel_for_heavy(ctx, partial_.count(),
                     [&](int64_t i) { kernels::l1_loss_forward(i, a, x0, x1, partial); });
  finish_forward(top);
}

template <class T>
void L1LossLayer<T>::finish_forward(const TensorVec<T>& top) {
  const double* partial = partial_.cpu_data();
  double sum = 0;
  for (int64_t i = 0; i < partial_.count(); ++i) sum += partial[i];
  top[0]->mutable_cpu_data()[0] =
      static_cast<T>(sum / static_cast<double>(std::max<int64_t>(num_, 1)));
}

template <class T>
T L1LossLayer<T>::backward_weight(const TensorVec<T>& top) const {
  return top[0]->cpu_diff()[0] / static_cast<T>(std::max<int64_t>(num_, 1));
}

template <class T>
void L1LossLayer<T>::backward_cpu(Context& ctx, const TensorVec<T>& top,
                                  const std::vector<bool>& propagate_down,
                                  const TensorVec<T>& bottom) {
  const T* x0 = bottom[0]->cpu_data();
  const T* x1 = bottom[1]->cpu_data();
  const T w = backward_weight(top);
  for (int k = 0; k < 2; ++k) {
    if (!propagate_down[k]) continue;
    const T alpha = k == 0 ? w : -w;
    T* dx = bottom[k]->mutable_cpu_diff();
    parallel_for(ctx, args_.count,
                 [&](int64_t j) { kernels::l1_loss_backward(j, x0, x1, alpha, dx); });
  }
}

#if CREMA_WITH_CUDA
template <class T>
void L1LossLayer<T>::forward_gpu(Context& ctx, const TensorVec<T>& bottom,
                                 const TensorVec<T>& top) {
  cuda::launch_l1_loss_forward<T>(ctx.cuda_stream(), partial_.count(), args_,
                                  bottom[0]->gpu_data(ctx), bottom[1]->gpu_data(ctx),
                                  partial_.mutable_gpu_data(ctx));
  // One partial per block of kBlock elements comes back for the fixed-order sum.
  finish_forward(top);
}

template <class T>
void L1LossLayer<T>::backward_gpu(Context& ctx, const TensorVec<T>& top,
                                  const std::vector<bool>& propagate_down,
                                  const TensorVec<T>& bottom) {
  const T w = backward_weight(top);
  for (int k = 0; k < 2; ++k) {
    if (!propagate_down[k]) continue;
    cuda::launch_l1_loss_backward<T>(ctx.cuda_stream(), args_.count, bottom[0]->gpu_data(ctx),
                                     bottom[1]->gpu_data(ctx), k == 0 ? w : -w,
                                     bottom[k]->mutable_gpu_diff(ctx));
  }
}
#endif

CREMA_INSTANTIATE_CLASS(L1LossLayer);

}  // namespace crema
