#include "ops/def_pooling_layer.h"

#include <cstdint>
#include <memory>

#include "core/parallel.h"

namespace crema {

namespace {
// Displacement indices are stored as int32: (2R + 1)^2 must fit.
constexpr int64_t kMaxRadius = 23000;
}  // namespace

template <class T>
void DefPoolingLayer<T>::layer_setup(Context& ctx, const TensorVec<T>& bottom,
                                     const TensorVec<T>& top) {
  const DefPoolingParameter& p = this->layer_param().def_pooling_param();
  if (p.has_kernel_size()) {
    const int64_t k = p.kernel_size();
    CREMA_LAYER_CHECK(k % 2 == 1, "kernel_size must be odd (the window is 2 radius + 1 wide), got ",
                      k, "; or give radius instead");
    CREMA_LAYER_CHECK(!p.has_radius() || 2 * static_cast<int64_t>(p.radius()) + 1 == k,
                      "kernel_size ", k, " disagrees with radius ", p.radius(),
                      " (kernel_size must be 2 radius + 1); give only one of them");
    radius_ = (k - 1) / 2;
  } else {
    radius_ = p.radius();
  }
  CREMA_LAYER_CHECK(radius_ <= kMaxRadius, "radius must be <= ", kMaxRadius, ", got ", radius_);
  stride_ = p.stride();
  CREMA_LAYER_CHECK(stride_ > 0, "stride must be > 0, got ", stride_);
  pad_ = p.has_pad() ? static_cast<int64_t>(p.pad()) : radius_;

  CREMA_SHAPE_CHECK(bottom[0]->num_axes() == 4, "bottom 0 must be 4-d (N, C, H, W), got ",
                    bottom[0]->shape_string());
  const int64_t channels = bottom[0]->shape(1);
  this->blobs_.clear();
  this->blobs_.push_back(
      std::make_shared<Tensor<T>>(std::vector<int64_t>{channels, kernels::kDefPoolingBasis}));
  if (p.has_penalty_filler()) {
    this->fill_blob(ctx, p.penalty_filler(), 0);
  } else {
    // No linear bias towards a direction; a small convex quadratic cost (DPM-style init).
    T* a = this->blobs_[0]->mutable_cpu_data();
    for (int64_t c = 0; c < channels; ++c) {
      a[c * 4 + 0] = T(0);
      a[c * 4 + 1] = T(0);
      a[c * 4 + 2] = T(0.05);
      a[c * 4 + 3] = T(0.05);
    }
  }
}

template <class T>
void DefPoolingLayer<T>::reshape(Context& ctx, const TensorVec<T>& bottom,
                                 const TensorVec<T>& top) {
  const Tensor<T>& x = *bottom[0];
  CREMA_SHAPE_CHECK(x.num_axes() == 4, "bottom 0 must be 4-d (N, C, H, W), got ", x.shape_string());
  for (auto* t : top)
    CREMA_LAYER_CHECK(t != bottom[0], "cannot run in place; give the top its own name");
  const int64_t channels = x.shape(1), height = x.shape(2), width = x.shape(3);
  CREMA_SHAPE_CHECK(this->blobs_[0]->num_axes() == 2 && this->blobs_[0]->shape(0) == channels &&
                        this->blobs_[0]->shape(1) == kernels::kDefPoolingBasis,
                    "the penalty blob has shape ", this->blobs_[0]->shape_string(),
                    " but bottom 0 (", x.shape_string(), ") needs ", channels,
                    "x4 (one (dx, dy, dx^2, dy^2) row per channel); the channel count changed "
                    "after setup or the loaded weights do not fit");
  const int64_t side = 2 * radius_ + 1;
  CREMA_SHAPE_CHECK(height + 2 * pad_ >= side && width + 2 * pad_ >= side, "input HxW ", height,
                    "x", width, " is too small for a ", side, "x", side, " window (radius ",
                    radius_, ") with pad ", pad_, "; need H + 2 pad >= 2 radius + 1");
  const int64_t out_h = (height + 2 * pad_ - side) / stride_ + 1;
  const int64_t out_w = (width + 2 * pad_ - side) / stride_ + 1;
  for (auto* t : top) t->reshape({x.shape(0), channels, out_h, out_w});
  args_ = {channels, height, width, out_h, out_w, radius_, stride_, pad_};
  argmax_.resize(static_cast<size_t>(top[0]->count()));
}

template <class T>
void DefPoolingLayer<T>::forward_cpu(Context& ctx, const TensorVec<T>& bottom,
                                     const TensorVec<T>& top) {
  const kernels::DefPoolingArgs a = args_;
  const T* x = bottom[0]->cpu_data();
  const T* penalty = this->blobs_[0]->cpu_data();
  T* y = top[0]->mutable_cpu_data();
  int32_t* argmax = argmax_.data();
  T* top_argmax = top.size() > 1 ? top[1]->mutable_cpu_data() : nullptr;
  parallel_for(ctx, top[0]->count(), [&](int64_t i) {
    kernels::def_pooling_forward(i, a, x, penalty, y, argmax, top_argmax);
  });
}

template <class T>
void DefPoolingLayer<T>::backward_cpu(Context& ctx, const TensorVec<T>& top,
                                      const std::vector<bool>& propagate_down,
                                      const TensorVec<T>& bottom) {
  const kernels::DefPoolingArgs a = args_;
  const T* dy = top[0]->cpu_diff();
  const int32_t* argmax = argmax_.data();
  if (this->param_propagate_down(0)) {
    T* dpenalty = this->blobs_[0]->mutable_cpu_diff();
    const int64_t num = bottom[0]->shape(0);
    parallel_for_heavy(ctx, a.channels, [&](int64_t i) {
      kernels::def_pooling_backward_penalty(i, a, num, dy, argmax, dpenalty);
    });
  }
  if (propagate_down[0]) {
    T* dx = bottom[0]->mutable_cpu_diff();
    parallel_for(ctx, bottom[0]->count(),
                 [&](int64_t i) { kernels::def_pooling_backward_input(i, a, dy, argmax, dx); });
  }
}

#if CREMA_WITH_CUDA
template <class T>
void DefPoolingLayer<T>::forward_gpu(Context& ctx, const TensorVec<T>& bottom,
                                     const TensorVec<T>& top) {
  const int64_t n = top[0]->count();
  T* top_argmax = top.size() > 1 ? top[1]->mutable_gpu_data(ctx) : nullptr;
  cuda::launch_def_pooling_forward<T>(ctx.cuda_stream(), n, args_, bottom[0]->gpu_data(ctx),
                                      this->blobs_[0]->gpu_data(ctx), top[0]->mutable_gpu_data(ctx),
                                      gpu_argmax_.resize(ctx, n), top_argmax);
}

template <class T>
void DefPoolingLayer<T>::backward_gpu(Context& ctx, const TensorVec<T>& top,
                                      const std::vector<bool>& propagate_down,
                                      const TensorVec<T>& bottom) {
  const T* dy = top[0]->gpu_diff(ctx);
  const int32_t* argmax = gpu_argmax_.data(ctx);
  if (this->param_propagate_down(0)) {
    cuda::launch_def_pooling_backward_penalty<T>(ctx.cuda_stream(), args_.channels, args_,
                                                 bottom[0]->shape(0), dy, argmax,
                                                 this->blobs_[0]->mutable_gpu_diff(ctx));
  }
  if (propagate_down[0]) {
    cuda::launch_def_pooling_backward_input<T>(ctx.cuda_stream(), bottom[0]->count(), args_, dy,
                                               argmax, bottom[0]->mutable_gpu_diff(ctx));
  }
}
#endif

CREMA_INSTANTIATE_CLASS(DefPoolingLayer);

}  // namespace crema
