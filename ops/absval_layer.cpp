#include "ops/absval_layer.h"

#include "core/parallel.h"
#include "cuda_kernels/absval.h"

namespace crema {

template <class T>
void AbsValLayer<T>::layer_setup(Context& ctx, const TensorVec<T>& bottom,
                                 const TensorVec<T>& top) {
  CREMA_LAYER_CHECK(top[0] != bottom[0],
                    "AbsVal cannot run in-place (backward needs the input's sign, which |x| "
                    "loses); give the layer a separate top");
}

template <class T>
void AbsValLayer<T>::reshape(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  top[0]->reshape_like(*bottom[0]);
}

template <class T>
void AbsValLayer<T>::forward_cpu(Context& ctx, const TensorVec<T>& bottom,
                                 const TensorVec<T>& top) {
  const T* x = bottom[0]->cpu_data();
  T* y = top[0]->mutable_cpu_data();
  parallel_for(ctx, bottom[0]->count(), [&](int64_t i) { kernels::absval_forward(i, x, y); });
}

template <class T>
void AbsValLayer<T>::backward_cpu(Context& ctx, const TensorVec<T>& top,
                                  const std::vector<bool>& propagate_down,
                                  const TensorVec<T>& bottom) {
  if (!propagate_down[0]) return;
  const T* x = bottom[0]->cpu_data();
  const T* dy = top[0]->cpu_diff();
  T* dx = bottom[0]->mutable_cpu_diff();
  parallel_for(ctx, bottom[0]->count(), [&](int64_t i) { kernels::absval_backward(i, x, dy, dx); });
}

#if CREMA_WITH_CUDA
template <class T>
void AbsValLayer<T>::forward_gpu(Context& ctx, const TensorVec<T>& bottom,
                                 const TensorVec<T>& top) {
  cuda::launch_absval_forward<T>(ctx.cuda_stream(), bottom[0]->count(), bottom[0]->gpu_data(ctx),
                                 top[0]->mutable_gpu_data(ctx));
}

template <class T>
void AbsValLayer<T>::backward_gpu(Context& ctx, const TensorVec<T>& top,
                                  const std::vector<bool>& propagate_down,
                                  const TensorVec<T>& bottom) {
  if (!propagate_down[0]) return;
  cuda::launch_absval_backward<T>(ctx.cuda_stream(), bottom[0]->count(), bottom[0]->gpu_data(ctx),
                                  top[0]->gpu_diff(ctx), bottom[0]->mutable_gpu_diff(ctx));
}
#endif

CREMA_INSTANTIATE_CLASS(AbsValLayer);

}  // namespace crema
