#include "ops/threshold_layer.h"

#include "core/parallel.h"
#include "cuda_kernels/threshold.h"

namespace crema {

template <class T>
void ThresholdLayer<T>::layer_setup(Context& ctx, const TensorVec<T>& bottom,
                                    const TensorVec<T>& top) {
  threshold_ = static_cast<T>(this->layer_param().threshold_param().threshold());
}

template <class T>
void ThresholdLayer<T>::reshape(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  if (top[0] != bottom[0]) top[0]->reshape_like(*bottom[0]);
}

template <class T>
void ThresholdLayer<T>::forward_cpu(Context& ctx, const TensorVec<T>& bottom,
                                    const TensorVec<T>& top) {
  const T t = threshold_;
  const T* x = bottom[0]->cpu_data();
  T* y = top[0]->mutable_cpu_data();
  parallel_for(ctx, bottom[0]->count(), [&](int64_t i) { kernels::threshold_forward(i, t, x, y); });
}

template <class T>
void ThresholdLayer<T>::backward_cpu(Context& ctx, const TensorVec<T>& top,
                                     const std::vector<bool>& propagate_down,
                                     const TensorVec<T>& bottom) {
  CREMA_LAYER_CHECK(!propagate_down[0],
                    "Threshold has no gradient, but backward was asked for one; add "
                    "`propagate_down: false` to this layer (or drop force_backward)");
}

#if CREMA_WITH_CUDA
template <class T>
void ThresholdLayer<T>::forward_gpu(Context& ctx, const TensorVec<T>& bottom,
                                    const TensorVec<T>& top) {
  cuda::launch_threshold_forward<T>(ctx.cuda_stream(), bottom[0]->count(), threshold_,
                                    bottom[0]->gpu_data(ctx), top[0]->mutable_gpu_data(ctx));
}

template <class T>
void ThresholdLayer<T>::backward_gpu(Context& ctx, const TensorVec<T>& top,
                                     const std::vector<bool>& propagate_down,
                                     const TensorVec<T>& bottom) {
  // No gradient on either device: the same check as backward_cpu, which touches no data.
  backward_cpu(ctx, top, propagate_down, bottom);
}
#endif

CREMA_INSTANTIATE_CLASS(ThresholdLayer);

}  // namespace crema
