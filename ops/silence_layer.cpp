#include "ops/silence_layer.h"

#include "ops/gpu_copy.h"

namespace crema {

template <class T>
void SilenceLayer<T>::backward_cpu(Context& ctx, const TensorVec<T>& top,
                                   const std::vector<bool>& propagate_down,
                                   const TensorVec<T>& bottom) {
  for (size_t i = 0; i < bottom.size(); ++i)
    if (propagate_down[i]) bottom[i]->set_diff(T(0));
}

#if CREMA_WITH_CUDA
template <class T>
void SilenceLayer<T>::backward_gpu(Context& ctx, const TensorVec<T>& top,
                                   const std::vector<bool>& propagate_down,
                                   const TensorVec<T>& bottom) {
  for (size_t i = 0; i < bottom.size(); ++i)
    if (propagate_down[i])
      cuda::zero_bytes(ctx, bottom[i]->mutable_gpu_diff(ctx), bottom[i]->count() * sizeof(T));
}
#endif

CREMA_INSTANTIATE_CLASS(SilenceLayer);

}  // namespace crema
