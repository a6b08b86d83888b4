#include "ops/dropout_layer.h"

#include <algorithm>
#include <charconv>

#include "core/parallel.h"
#include "core/rng.h"
#include "cuda_kernels/dropout.h"
#include "ops/gpu_copy.h"

namespace crema {

template <class T>
void DropoutLayer<T>::layer_setup(Context& ctx, const TensorVec<T>& bottom,
                                  const TensorVec<T>& top) {
  ratio_ = this->layer_param().dropout_param().dropout_ratio();
  CREMA_LAYER_CHECK(ratio_ >= 0.0f && ratio_ < 1.0f,
                    "dropout_param.dropout_ratio must be in [0, 1), got ", ratio_);
  scale_ = T(1) / (T(1) - static_cast<T>(ratio_));
}

template <class T>
void DropoutLayer<T>::reshape(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  if (top[0] != bottom[0]) top[0]->reshape_like(*bottom[0]);
}

template <class T>
std::string DropoutLayer<T>::save_state() const {
  return std::to_string(counter_);
}

template <class T>
void DropoutLayer<T>::load_state(const std::string& state) {
  uint64_t c = 0;
  const char* end = state.data() + state.size();
  const auto [ptr, ec] = std::from_chars(state.data(), end, c);
  CREMA_CHECK_AS(DataError, !state.empty() && ec == std::errc() && ptr == end,
                 "dropout state must be a decimal call counter, got '", state, "'");
  counter_ = c;
}

template <class T>
std::vector<uint8_t> DropoutLayer<T>::mask() const {
  if (!mask_ || mask_->size() == 0) return {};
  const auto* m = static_cast<const uint8_t*>(mask_->cpu_data());
  return std::vector<uint8_t>(m, m + mask_->size());
}

template <class T>
kernels::DropoutArgs<T> DropoutLayer<T>::start_train_forward(const Context& ctx, int64_t n) {
  // See Note [Counter-based dropout] in cuda_kernels/dropout.h.
  const uint64_t stream = rng::hash_name(this->name().c_str()) ^ counter_;
  ++counter_;
  const size_t bytes = static_cast<size_t>(n);
  if (!mask_ || mask_->size() != bytes) mask_ = std::make_unique<SyncedMemory>(bytes);
  return {ctx.seed, stream, ratio_, scale_};
}

template <class T>
void DropoutLayer<T>::forward_cpu(Context& ctx, const TensorVec<T>& bottom,
                                  const TensorVec<T>& top) {
  const int64_t n = bottom[0]->count();
  const T* x = bottom[0]->cpu_data();
  T* y = top[0]->mutable_cpu_data();
  if (this->phase() != TRAIN) {
    if (x != y) std::copy(x, x + n, y);
    return;
  }
  const kernels::DropoutArgs<T> args = start_train_forward(ctx, n);
  uint8_t* mask = static_cast<uint8_t*>(mask_->mutable_cpu_data());
  parallel_for(ctx, n, [&](int64_t i) { kernels::dropout_forward(i, args, x, mask, y); });
}

template <class T>
void DropoutLayer<T>::backward_cpu(Context& ctx, const TensorVec<T>& top,
                                   const std::vector<bool>& propagate_down,
                                   const TensorVec<T>& bottom) {
  if (!propagate_down[0]) return;
  const int64_t n = bottom[0]->count();
  const T* dy = top[0]->cpu_diff();
  T* dx = bottom[0]->mutable_cpu_diff();
  if (this->phase() != TRAIN) {
    if (dx != dy) std::copy(dy, dy + n, dx);
    return;
  }
  CREMA_ASSERT(mask_ && static_cast<int64_t>(mask_->size()) == n);
  const T scale = scale_;
  const uint8_t* mask = static_cast<const uint8_t*>(mask_->cpu_data());
  parallel_for(ctx, n, [&](int64_t i) { kernels::dropout_backward(i, scale, mask, dy, dx); });
}

#if CREMA_WITH_CUDA
template <class T>
void DropoutLayer<T>::forward_gpu(Context& ctx, const TensorVec<T>& bottom,
                                  const TensorVec<T>& top) {
  const int64_t n = bottom[0]->count();
  const T* x = bottom[0]->gpu_data(ctx);
  T* y = top[0]->mutable_gpu_data(ctx);
  if (this->phase() != TRAIN) {
    cuda::copy(ctx, n, x, y);
    return;
  }
  // The same stream, counter and body as forward_cpu: the device mask equals the host one.
  const kernels::DropoutArgs<T> args = start_train_forward(ctx, n);
  uint8_t* mask = static_cast<uint8_t*>(mask_->mutable_gpu_data(ctx.device, ctx.cuda_stream()));
  cuda::launch_dropout_forward<T>(ctx.cuda_stream(), n, args, x, mask, y);
}

template <class T>
void DropoutLayer<T>::backward_gpu(Context& ctx, const TensorVec<T>& top,
                                   const std::vector<bool>& propagate_down,
                                   const TensorVec<T>& bottom) {
  if (!propagate_down[0]) return;
  const int64_t n = bottom[0]->count();
  const T* dy = top[0]->gpu_diff(ctx);
  T* dx = bottom[0]->mutable_gpu_diff(ctx);
  if (this->phase() != TRAIN) {
    cuda::copy(ctx, n, dy, dx);
    return;
  }
  CREMA_ASSERT(mask_ && static_cast<int64_t>(mask_->size()) == n);
  const auto* mask = static_cast<const uint8_t*>(mask_->gpu_data(ctx.device, ctx.cuda_stream()));
  cuda::launch_dropout_backward<T>(ctx.cuda_stream(), n, scale_, mask, dy, dx);
}
#endif

CREMA_INSTANTIATE_CLASS(DropoutLayer);

}  // namespace crema
