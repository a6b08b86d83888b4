#include "ops/tanh_layer.h"

#include "core/cudnn_util.h"
#include "core/parallel.h"
#include "cuda_kernels/tanh.h"

namespace crema {

template <class T>
void TanHLayer<T>::reshape(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  if (top[0] != bottom[0]) top[0]->reshape_like(*bottom[0]);
}

template <class T>
void TanHLayer<T>::forward_cpu(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  const T* x = bottom[0]->cpu_data();
  T* y = top[0]->mutable_cpu_data();
  parallel_for(ctx, bottom[0]->count(), [&](int64_t i) { kernels::tanh_forward(i, x, y); });
}

template <class T>
void TanHLayer<T>::backward_cpu(Context& ctx, const TensorVec<T>& top,
                                const std::vector<bool>& propagate_down,
                                const TensorVec<T>& bottom) {
  if (!propagate_down[0]) return;
  const T* y = top[0]->cpu_data();
  const T* dy = top[0]->cpu_diff();
  T* dx = bottom[0]->mutable_cpu_diff();
  parallel_for(ctx, bottom[0]->count(), [&](int64_t i) { kernels::tanh_backward(i, y, dy, dx); });
}

#if CREMA_WITH_CUDA
// cuDNN's activation; the CPU path's body runs only on the CPU (tests compare the two).
template <class T>
void TanHLayer<T>::forward_gpu(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  cudnn::activation_forward<T>(ctx, CUDNN_ACTIVATION_TANH, bottom[0]->count(),
                               bottom[0]->gpu_data(ctx), top[0]->mutable_gpu_data(ctx));
}

template <class T>
void TanHLayer<T>::backward_gpu(Context& ctx, const TensorVec<T>& top,
                                const std::vector<bool>& propagate_down,
                                const TensorVec<T>& bottom) {
  if (!propagate_down[0]) return;
  // The bottom data is the input, or the output when in-place: the derivative needs only y.
  cudnn::activation_backward<T>(ctx, CUDNN_ACTIVATION_TANH, bottom[0]->count(),
                                top[0]->gpu_data(ctx), top[0]->gpu_diff(ctx),
                                bottom[0]->gpu_data(ctx), bottom[0]->mutable_gpu_diff(ctx));
}
#endif

CREMA_INSTANTIATE_CLASS(TanHLayer);

}  // namespace crema
