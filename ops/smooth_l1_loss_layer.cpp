#include "ops/smooth_l1_loss_layer.h"

#include <algorithm>

#include "core/parallel.h"

namespace crema {

template <class T>
void SmoothL1LossLayer<T>::layer_setup(Context& ctx, const TensorVec<T>& bottom,
                                       const TensorVec<T>& top) {
  if (this->layer_param().loss_weight_size() == 0) this->set_loss(0, T(1));
  CREMA_LAYER_CHECK(bottom.size() != 3,
                    "takes 2 bottoms (a, b) or 4 (a, b, inside weights, "
                    "outside weights), got 3; add the outside weights (e.g. ones) as bottom 3");
  const double sigma = this->layer_param().smooth_l1_loss_param().sigma();
  CREMA_LAYER_CHECK(sigma > 0, "smooth_l1_loss_param.sigma must be > 0, got ", sigma);
  args_.sigma2 = sigma * sigma;
}

template <class T>
void SmoothL1LossLayer<T>::reshape(Context& ctx, const TensorVec<T>& bottom,
                                   const TensorVec<T>& top) {
  const Tensor<T>& a = *bottom[0];
  CREMA_SHAPE_CHECK(a.num_axes() >= 1, "bottom 0 is a scalar; it needs a batch axis");
  for (size_t k = 1; k < bottom.size(); ++k)
    CREMA_SHAPE_CHECK(bottom[k]->shape() == a.shape(), "bottom ", k, " has shape ",
                      bottom[k]->shape_string(), " but bottom 0 has shape ", a.shape_string(),
                      "; SmoothL1Loss needs all bottoms of one shape");
  num_ = a.shape(0);
  args_.count = a.count();
  args_.block = kBlock;
  partial_.reshape({(args_.count + kBlock - 1) / kBlock});
  top[0]->reshape(std::vector<int64_t>{});
}

template <class T>
void SmoothL1LossLayer<T>::forward_cpu(Context& ctx, const TensorVec<T>& bottom,
                                       const TensorVec<T>& top) {
  const T* x0 = bottom[0]->cpu_data();
  const T* x1 = bottom[1]->cpu_data();
  const T* w_in = bottom.size() > 2 ? bottom[2]->cpu_data() : nullptr;
  const T* w_out = bottom.size() > 3 ? bottom[3]->cpu_data() : nullptr;
  double* partial = partial_.mutable_cpu_data();
  const kernels::SmoothL1LossArgs a = args_;
  parallel_for_heavy(ctx, partial_.count(), [&](int64_t i) {
    kernels::smooth_l1_loss_forward(i, a, x0, x1, w_in, w_out, partial);
  });
  finish_forward(top);
}

template <class T>
void SmoothL1LossLayer<T>::finish_forward(const TensorVec<T>& top) {
  const double* partial = partial_.cpu_data();
  double sum = 0;
  for (int64_t i = 0; i < partial_.count(); ++i) sum += partial[i];
  top[0]->mutable_cpu_data()[0] =
      static_cast<T>(sum / static_cast<double>(std::max<int64_t>(num_, 1)));
}

template <class T>
T SmoothL1LossLayer<T>::backward_weight(const TensorVec<T>& top,
                                        const std::vector<bool>& propagate_down,
                                        const TensorVec<T>& bottom) const {
  for (size_t k = 2; k < bottom.size(); ++k)
    CREMA_LAYER_CHECK(!propagate_down[k], "cannot backpropagate to the ",
                      k == 2 ? "inside" : "outside", " weights (bottom ", k,
                      "); set propagate_down: false for it");
  return top[0]->cpu_diff()[0] / static_cast<T>(std::max<int64_t>(num_, 1));
}

template <class T>
void SmoothL1LossLayer<T>::backward_cpu(Context& ctx, const TensorVec<T>& top,
                                        const std::vector<bool>& propagate_down,
                                        const TensorVec<T>& bottom) {
  const T w = backward_weight(top, propagate_down, bottom);
  const T* x0 = bottom[0]->cpu_data();
  const T* x1 = bottom[1]->cpu_data();
  const T* w_in = bottom.size() > 2 ? bottom[2]->cpu_data() : nullptr;
  const T* w_out = bottom.size() > 3 ? bottom[3]->cpu_data() : nullptr;
  const kernels::SmoothL1LossArgs a = args_;
  for (int k = 0; k < 2; ++k) {
    if (!propagate_down[k]) continue;
    const T alpha = k == 0 ? w : -w;
    T* dx = bottom[k]->mutable_cpu_diff();
    parallel_for(ctx, a.count, [&](int64_t j) {
      kernels::smooth_l1_loss_backward(j, a, x0, x1, w_in, w_out, alpha, dx);
    });
  }
}

#if CREMA_WITH_CUDA
template <class T>
void SmoothL1LossLayer<T>::forward_gpu(Context& ctx, const TensorVec<T>& bottom,
                                       const TensorVec<T>& top) {
  cuda::launch_smooth_l1_loss_forward<T>(
      ctx.cuda_stream(), partial_.count(), args_, bottom[0]->gpu_data(ctx),
      bottom[1]->gpu_data(ctx), bottom.size() > 2 ? bottom[2]->gpu_data(ctx) : nullptr,
      bottom.size() > 3 ? bottom[3]->gpu_data(ctx) : nullptr, partial_.mutable_gpu_data(ctx));
  // One partial per block of kBlock elements comes back for the fixed-order sum.
  finish_forward(top);
}

template <class T>
void SmoothL1LossLayer<T>::backward_gpu(Context& ctx, const TensorVec<T>& top,
                                        const std::vector<bool>& propagate_down,
                                        const TensorVec<T>& bottom) {
  const T w = backward_weight(top, propagate_down, bottom);
  const T* w_in = bottom.size() > 2 ? bottom[2]->gpu_data(ctx) : nullptr;
  const T* w_out = bottom.size() > 3 ? bottom[3]->gpu_data(ctx) : nullptr;
  for (int k = 0; k < 2; ++k) {
    if (!propagate_down[k]) continue;
    cuda::launch_smooth_l1_loss_backward<T>(
        ctx.cuda_stream(), args_.count, args_, bottom[0]->gpu_data(ctx), bottom[1]->gpu_data(ctx),
        w_in, w_out, k == 0 ? w : -w, bottom[k]->mutable_gpu_diff(ctx));
  }
}
#endif

CREMA_INSTANTIATE_CLASS(SmoothL1LossLayer);

}  // namespace crema
