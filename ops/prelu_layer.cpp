#include "ops/prelu_layer.h"

#include "core/parallel.h"
#include "ops/gpu_copy.h"

namespace crema {

template <class T>
void PReLULayer<T>::layer_setup(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  const PReLUParameter& p = this->layer_param().prelu_param();
  CREMA_SHAPE_CHECK(bottom[0]->num_axes() >= 2, "bottom 0 must have at least 2 axes (N, C, ...), ",
                    "got ", bottom[0]->shape_string());
  channel_shared_ = p.channel_shared();
  const int64_t channels = bottom[0]->shape(1);
  this->blobs_.clear();
  this->blobs_.push_back(std::make_shared<Tensor<T>>(
      channel_shared_ ? std::vector<int64_t>{} : std::vector<int64_t>{channels}));
  if (p.has_filler()) {
    this->fill_blob(ctx, p.filler(), 0);
  } else {
    FillerParameter filler;
    filler.set_type("constant");
    filler.set_value(0.25f);
    this->fill_blob(ctx, filler, 0);
  }
}

template <class T>
void PReLULayer<T>::reshape(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  const Tensor<T>& x = *bottom[0];
  CREMA_SHAPE_CHECK(x.num_axes() >= 2, "bottom 0 must have at least 2 axes (N, C, ...), got ",
                    x.shape_string());
  const int64_t want = channel_shared_ ? 1 : x.shape(1);
  CREMA_SHAPE_CHECK(this->blobs_[0]->count() == want, "the PReLU slopes hold ",
                    this->blobs_[0]->count(), " values but bottom 0 (", x.shape_string(),
                    ") needs ", want,
                    channel_shared_ ? " (channel_shared)" : " (one per channel, axis 1)",
                    "; the channel count changed after setup or the loaded weights do not fit");
  args_ = {x.shape(0), x.shape(1), x.count(2), channel_shared_};
  slope_sum_ = channel_shared_ ? kernels::BroadcastArgs{1, 1, x.shape(1)}
                               : kernels::BroadcastArgs{1, x.shape(1), 1};
  if (top[0] != bottom[0]) {
    top[0]->reshape_like(x);
  } else {
    bottom_copy_.reshape_like(x);
  }
  slope_partial_.reshape({x.shape(1)});
}

template <class T>
void PReLULayer<T>::forward_cpu(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  const kernels::PReluArgs a = args_;
  const int64_t n = bottom[0]->count();
  if (top[0] == bottom[0]) bottom_copy_.copy_from(*bottom[0]);
  const T* x = bottom[0]->cpu_data();
  const T* slope = this->blobs_[0]->cpu_data();
  T* y = top[0]->mutable_cpu_data();
  parallel_for(ctx, n, [&](int64_t i) { kernels::prelu_forward(i, a, x, slope, y); });
}

template <class T>
void PReLULayer<T>::backward_cpu(Context& ctx, const TensorVec<T>& top,
                                 const std::vector<bool>& propagate_down,
                                 const TensorVec<T>& bottom) {
  const kernels::PReluArgs a = args_;
  const T* x = top[0] == bottom[0] ? bottom_copy_.cpu_data() : bottom[0]->cpu_data();
  const T* dy = top[0]->cpu_diff();
  // The slope gradient goes first: in-place, writing the bottom diff overwrites dy.
  if (this->param_propagate_down(0)) {
    T* partial = slope_partial_.mutable_cpu_data();
    parallel_for(ctx, a.channels,
                 [&](int64_t c) { kernels::prelu_slope_backward(c, a, x, dy, partial); });
    // slope_diff += the partials (summed over channels when shared), in channel order.
    const kernels::BroadcastArgs r = slope_sum_;
    T* slope_diff = this->blobs_[0]->mutable_cpu_diff();
    parallel_for(ctx, r.dim,
                 [&](int64_t k) { kernels::bias_param_backward(k, r, partial, slope_diff, true); });
  }
  if (propagate_down[0]) {
    const T* slope = this->blobs_[0]->cpu_data();
    T* dx = bottom[0]->mutable_cpu_diff();
    parallel_for(ctx, bottom[0]->count(),
                 [&](int64_t i) { kernels::prelu_backward(i, a, x, slope, dy, dx); });
  }
}

#if CREMA_WITH_CUDA
template <class T>
void PReLULayer<T>::forward_gpu(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  const int64_t n = bottom[0]->count();
  if (top[0] == bottom[0])
    cuda::copy(ctx, n, bottom[0]->gpu_data(ctx), bottom_copy_.mutable_gpu_data(ctx));
  cuda::launch_prelu_forward<T>(ctx.cuda_stream(), n, args_, bottom[0]->gpu_data(ctx),
                                this->blobs_[0]->gpu_data(ctx), top[0]->mutable_gpu_data(ctx));
}

template <class T>
void PReLULayer<T>::backward_gpu(Context& ctx, const TensorVec<T>& top,
                                 const std::vector<bool>& propagate_down,
                                 const TensorVec<T>& bottom) {
  const T* x = top[0] == bottom[0] ? bottom_copy_.gpu_data(ctx) : bottom[0]->gpu_data(ctx);
  const T* dy = top[0]->gpu_diff(ctx);
  // As backward_cpu: the slope gradient first, since in-place dx overwrites dy.
  if (this->param_propagate_down(0)) {
    T* partial = slope_partial_.mutable_gpu_data(ctx);
    cuda::launch_prelu_slope_backward<T>(ctx.cuda_stream(), args_.channels, args_, x, dy, partial);
    cuda::launch_bias_param_backward<T>(ctx.cuda_stream(), slope_sum_.dim, slope_sum_, partial,
                                        this->blobs_[0]->mutable_gpu_diff(ctx), true);
  }
  if (propagate_down[0]) {
    cuda::launch_prelu_backward<T>(ctx.cuda_stream(), bottom[0]->count(), args_, x,
                                   this->blobs_[0]->gpu_data(ctx), dy,
                                   bottom[0]->mutable_gpu_diff(ctx));
  }
}
#endif

CREMA_INSTANTIATE_CLASS(PReLULayer);

}  // namespace crema
