#include "ops/split_layer.h"

#include <algorithm>

#include "core/blas.h"
#include "core/gpu_blas.h"
#include "ops/gpu_copy.h"

namespace crema {

template <class T>
void SplitLayer<T>::reshape(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  for (size_t i = 0; i < top.size(); ++i) {
    CREMA_LAYER_CHECK(top[i] != bottom[0], "cannot run in-place (top ", i,
                      " is the bottom); give each top its own name");
    top[i]->reshape_like(*bottom[0]);
    top[i]->share_data(*bottom[0]);
  }
}

template <class T>
void SplitLayer<T>::backward_cpu(Context& ctx, const TensorVec<T>& top,
                                 const std::vector<bool>& propagate_down,
                                 const TensorVec<T>& bottom) {
  if (!propagate_down[0]) return;
  const int64_t n = bottom[0]->count();
  if (n == 0) return;
  T* dx = bottom[0]->mutable_cpu_diff();
  const T* dy0 = top[0]->cpu_diff();
  std::copy(dy0, dy0 + n, dx);
  for (size_t i = 1; i < top.size(); ++i) blas::axpy<T>(n, T(1), top[i]->cpu_diff(), dx);
}

#if CREMA_WITH_CUDA
template <class T>
void SplitLayer<T>::backward_gpu(Context& ctx, const TensorVec<T>& top,
                                 const std::vector<bool>& propagate_down,
                                 const TensorVec<T>& bottom) {
  if (!propagate_down[0]) return;
  const int64_t n = bottom[0]->count();
  if (n == 0) return;
  T* dx = bottom[0]->mutable_gpu_diff(ctx);
  cuda::copy<T>(ctx, n, top[0]->gpu_diff(ctx), dx);
  for (size_t i = 1; i < top.size(); ++i) gpu_axpy<T>(ctx, n, T(1), top[i]->gpu_diff(ctx), dx);
}
#endif

CREMA_INSTANTIATE_CLASS(SplitLayer);

}  // namespace crema
