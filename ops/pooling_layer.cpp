#include "ops/pooling_layer.h"

#include <cstdint>

#include "core/parallel.h"

namespace crema {

template <class T>
void PoolingLayer<T>::layer_setup(Context& ctx, const TensorVec<T>& bottom,
                                  const TensorVec<T>& top) {
  const PoolingParameter& pp = this->layer_param().pooling_param();
  CREMA_LAYER_CHECK(pp.pool() != PoolingParameter::STOCHASTIC,
                    "pool: STOCHASTIC is not supported; use MAX or AVE");
  max_ = pp.pool() == PoolingParameter::MAX;
  global_ = pp.global_pooling();
  floor_ = pp.round_mode() == PoolingParameter::FLOOR;

  const bool any_kernel = pp.has_kernel_size() || pp.has_kernel_h() || pp.has_kernel_w();
  if (global_) {
    CREMA_LAYER_CHECK(!any_kernel,
                      "global_pooling takes the kernel from the input H x W; remove kernel_size "
                      "/ kernel_h / kernel_w");
  } else {
    CREMA_LAYER_CHECK(!(pp.has_kernel_size() && (pp.has_kernel_h() || pp.has_kernel_w())),
                      "give either kernel_size or kernel_h and kernel_w, not both");
    CREMA_LAYER_CHECK(pp.has_kernel_size() || (pp.has_kernel_h() && pp.has_kernel_w()),
                      any_kernel ? "set both kernel_h and kernel_w (only one was given)"
                                 : "kernel_size (or kernel_h and kernel_w) is required");
    kernel_h_ = pp.has_kernel_size() ? pp.kernel_size() : pp.kernel_h();
    kernel_w_ = pp.has_kernel_size() ? pp.kernel_size() : pp.kernel_w();
    CREMA_LAYER_CHECK(kernel_h_ > 0 && kernel_w_ > 0, "kernel size must be > 0, got ", kernel_h_,
                      "x", kernel_w_);
  }
  CREMA_LAYER_CHECK(!(pp.has_pad() && (pp.has_pad_h() || pp.has_pad_w())),
                    "give either pad or pad_h and pad_w, not both");
  CREMA_LAYER_CHECK(!(pp.has_stride() && (pp.has_stride_h() || pp.has_stride_w())),
                    "give either stride or stride_h and stride_w, not both");
  CREMA_LAYER_CHECK(pp.has_stride_h() == pp.has_stride_w(),
                    "set both stride_h and stride_w (only one was given)");
  pad_h_ = pp.has_pad_h() || pp.has_pad_w() ? pp.pad_h() : pp.pad();
  pad_w_ = pp.has_pad_h() || pp.has_pad_w() ? pp.pad_w() : pp.pad();
  stride_h_ = pp.has_stride_h() ? pp.stride_h() : pp.stride();
  stride_w_ = pp.has_stride_w() ? pp.stride_w() : pp.stride();
  CREMA_LAYER_CHECK(stride_h_ > 0 && stride_w_ > 0, "stride must be > 0, got ", stride_h_, "x",
                    stride_w_);
  if (global_) {
    CREMA_LAYER_CHECK(pad_h_ == 0 && pad_w_ == 0 && stride_h_ == 1 && stride_w_ == 1,
                      "global_pooling needs pad 0 and stride 1, got pad ", pad_h_, "x", pad_w_,
                      " and stride ", stride_h_, "x", stride_w_);
  } else {
    CREMA_LAYER_CHECK(pad_h_ < kernel_h_ && pad_w_ < kernel_w_,
                      "pad must be < kernel size, got pad ", pad_h_, "x", pad_w_, " for kernel ",
                      kernel_h_, "x", kernel_w_);
  }
}

template <class T>
void PoolingLayer<T>::reshape(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  const Tensor<T>& x = *bottom[0];
  CREMA_SHAPE_CHECK(x.num_axes() == 4, "bottom 0 must be 4-d (N, C, H, W), got ", x.shape_string());
  for (auto* t : top)
    CREMA_LAYER_CHECK(t != bottom[0], "cannot run in place; give the top its own name");
  const int64_t height = x.shape(2), width = x.shape(3);
  if (global_) {
    CREMA_SHAPE_CHECK(height > 0 && width > 0, "global pooling needs a non-empty H x W, got ",
                      x.shape_string());
    kernel_h_ = height;
    kernel_w_ = width;
  }
  CREMA_SHAPE_CHECK(height + 2 * pad_h_ >= kernel_h_ && width + 2 * pad_w_ >= kernel_w_,
                    "input HxW ", height, "x", width, " too small for kernel ", kernel_h_, "x",
                    kernel_w_, " with pad ", pad_h_, "x", pad_w_, "; need H + 2 * pad >= kernel");
  auto pooled = [&](int64_t size, int64_t kernel, int64_t stride, int64_t pad) {
    const int64_t span = size + 2 * pad - kernel;
    int64_t out = (floor_ ? span / stride : (span + stride - 1) / stride) + 1;
    // Drop a last window that would start in the padding past the image. Caffe does this only
    // when some pad is set; we also do it for pad 0 (stride > kernel), where Caffe's last window
    // would be empty.
    if ((out - 1) * stride >= size + pad) --out;
    return out;
  };
  const int64_t pooled_h = pooled(height, kernel_h_, stride_h_, pad_h_);
  const int64_t pooled_w = pooled(width, kernel_w_, stride_w_, pad_w_);
  for (auto* t : top) t->reshape({x.shape(0), x.shape(1), pooled_h, pooled_w});
  args_ = {height,    width,     pooled_h,  pooled_w, kernel_h_,
           kernel_w_, stride_h_, stride_w_, pad_h_,   pad_w_};
  // cuDNN sizes AVE windows as floor((H + 2 * pad - kernel) / stride) + 1, all inside the
  // padded image, and divides by kernel_h * kernel_w; Caffe's divisor is that too whenever the
  // output has no more windows than that (always with FLOOR rounding). A CEIL window that
  // overhangs the padded image has a smaller Caffe divisor, so those shapes run the kernel
  // bodies. MAX always runs the bodies: cuDNN routes a tie's gradient to any one of the equal
  // inputs (ties are common after ReLU), Caffe to the first, and it exposes no argmax mask.
  use_cudnn_ = !max_ && pooled_h == (height + 2 * pad_h_ - kernel_h_) / stride_h_ + 1 &&
               pooled_w == (width + 2 * pad_w_ - kernel_w_) / stride_w_ + 1;
  if (max_) {
    CREMA_SHAPE_CHECK(height * width <= INT32_MAX, "MAX pooling stores argmax indices as int32; ",
                      "an H x W plane of ", height * width, " pixels is too large");
    mask_.resize(static_cast<size_t>(top[0]->count()));
  }
}

template <class T>
void PoolingLayer<T>::forward_cpu(Context& ctx, const TensorVec<T>& bottom,
                                  const TensorVec<T>& top) {
  const kernels::PoolingArgs a = args_;
  const T* x = bottom[0]->cpu_data();
  T* y = top[0]->mutable_cpu_data();
  if (max_) {
    int32_t* mask = mask_.data();
    T* top_mask = top.size() > 1 ? top[1]->mutable_cpu_data() : nullptr;
    parallel_for(ctx, top[0]->count(0, 3),
                 [&](int64_t i) { kernels::pooling_max_forward(i, a, x, y, mask, top_mask); });
  } else {
    parallel_for(ctx, top[0]->count(0, 3),
                 [&](int64_t i) { kernels::pooling_ave_forward(i, a, x, y); });
  }
}

template <class T>
void PoolingLayer<T>::backward_cpu(Context& ctx, const TensorVec<T>& top,
                                   const std::vector<bool>& propagate_down,
                                   const TensorVec<T>& bottom) {
  if (!propagate_down[0]) return;
  const kernels::PoolingArgs a = args_;
  const T* dy = top[0]->cpu_diff();
  T* dx = bottom[0]->mutable_cpu_diff();
  if (max_) {
    const int32_t* mask = mask_.data();
    parallel_for(ctx, bottom[0]->count(0, 3),
                 [&](int64_t i) { kernels::pooling_max_backward(i, a, dy, mask, dx); });
  } else {
    parallel_for(ctx, bottom[0]->count(0, 3),
                 [&](int64_t i) { kernels::pooling_ave_backward(i, a, dy, dx); });
  }
}

#if CREMA_WITH_CUDA
template <class T>
void PoolingLayer<T>::set_descriptors(const Tensor<T>& bottom, const Tensor<T>& top) {
  bottom_desc_.set_4d<T>(bottom.shape(0), bottom.shape(1), args_.height, args_.width);
  top_desc_.set_4d<T>(top.shape(0), top.shape(1), args_.pooled_h, args_.pooled_w);
  pool_desc_.set(CUDNN_POOLING_AVERAGE_COUNT_INCLUDE_PADDING, kernel_h_, kernel_w_, pad_h_, pad_w_,
                 stride_h_, stride_w_);
}

template <class T>
void PoolingLayer<T>::forward_gpu(Context& ctx, const TensorVec<T>& bottom,
                                  const TensorVec<T>& top) {
  if (top[0]->count() == 0) return;
  const T* x = bottom[0]->gpu_data(ctx);
  T* y = top[0]->mutable_gpu_data(ctx);
  if (use_cudnn_) {
    set_descriptors(*bottom[0], *top[0]);
    cudnn::check(cudnnPoolingForward(cudnn::handle(ctx), pool_desc_.get(), &cudnn::kOne<T>,
                                     bottom_desc_.get(), x, &cudnn::kZero<T>, top_desc_.get(), y),
                 "cudnnPoolingForward");
  } else if (max_) {
    const size_t bytes = mask_.size() * sizeof(int32_t);
    if (!gpu_mask_ || gpu_mask_->size() < bytes) gpu_mask_ = std::make_unique<SyncedMemory>(bytes);
    auto* mask = static_cast<int32_t*>(gpu_mask_->mutable_gpu_data(ctx.device, ctx.cuda_stream()));
    T* top_mask = top.size() > 1 ? top[1]->mutable_gpu_data(ctx) : nullptr;
    cuda::launch_pooling_max_forward<T>(ctx.cuda_stream(), top[0]->count(0, 3), args_, x, y, mask,
                                        top_mask);
  } else {
    cuda::launch_pooling_ave_forward<T>(ctx.cuda_stream(), top[0]->count(0, 3), args_, x, y);
  }
}

template <class T>
void PoolingLayer<T>::backward_gpu(Context& ctx, const TensorVec<T>& top,
                                   const std::vector<bool>& propagate_down,
                                   const TensorVec<T>& bottom) {
  if (!propagate_down[0] || bottom[0]->count() == 0) return;
  const T* dy = top[0]->gpu_diff(ctx);
  T* dx = bottom[0]->mutable_gpu_diff(ctx);
  if (use_cudnn_) {
    set_descriptors(*bottom[0], *top[0]);
    cudnn::check(
        cudnnPoolingBackward(cudnn::handle(ctx), pool_desc_.get(), &cudnn::kOne<T>, top_desc_.get(),
                             top[0]->gpu_data(ctx), top_desc_.get(), dy, bottom_desc_.get(),
                             bottom[0]->gpu_data(ctx), &cudnn::kZero<T>, bottom_desc_.get(), dx),
        "cudnnPoolingBackward");
  } else if (max_) {
    CREMA_CHECK_AS(InternalError, gpu_mask_ != nullptr, "Pooling backward_gpu before forward_gpu");
    const auto* mask =
        static_cast<const int32_t*>(gpu_mask_->gpu_data(ctx.device, ctx.cuda_stream()));
    cuda::launch_pooling_max_backward<T>(ctx.cuda_stream(), bottom[0]->count(0, 3), args_, dy, mask,
                                         dx);
  } else {
    cuda::launch_pooling_ave_backward<T>(ctx.cuda_stream(), bottom[0]->count(0, 3), args_, dy, dx);
  }
}
#endif

CREMA_INSTANTIATE_CLASS(PoolingLayer);

}  // namespace crema
