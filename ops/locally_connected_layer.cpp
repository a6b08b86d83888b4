#include "ops/locally_connected_layer.h"

#include <cstdint>
#include <memory>

#include "core/parallel.h"

namespace crema {

// Note [Locally connected bodies]
// Each output position owns its weights, so the per-position GEMMs are tiny (num_output x
// C k^2 times C k^2 x N; DeepID's conv4 has 2 positions of 80 x 240 with N of a few dozen).
// Batched BLAS calls would cost more in calls than in flops, so forward and all three
// gradients are plain GATHER bodies instead: every work item owns one output, input, weight or
// bias slot and sums in a fixed order, so results are bitwise independent of the thread count
// and the same bodies run on the GPU without atomics.
// The weights are position-major, (H_out * W_out, num_output, C * k^2), rather than MODELS.md's
// C_out x C_in x k x k x H_out x W_out: each position's bank is then one contiguous
// num_output x C k^2 matrix (a Convolution filter blob), read contiguously by the forward body
// and ready for a per-position GEMM should a batched path ever pay off.

template <class T>
void LocallyConnectedLayer<T>::layer_setup(Context& ctx, const TensorVec<T>& bottom,
                                           const TensorVec<T>& top) {
  const LocallyConnectedParameter& p = this->layer_param().locally_connected_param();
  num_output_ = p.num_output();
  CREMA_LAYER_CHECK(num_output_ > 0, "num_output must be > 0, got ", num_output_,
                    "; set locally_connected_param { num_output: ... }");
  CREMA_LAYER_CHECK(p.has_kernel_size(), "kernel_size is required");
  kernel_ = p.kernel_size();
  CREMA_LAYER_CHECK(kernel_ > 0, "kernel_size must be > 0, got ", kernel_);
  stride_ = p.stride();
  CREMA_LAYER_CHECK(stride_ > 0, "stride must be > 0, got ", stride_);
  pad_ = p.pad();
  CREMA_LAYER_CHECK(pad_ < kernel_, "pad must be < kernel_size, got pad ", pad_, " for kernel ",
                    kernel_, " (a window entirely in the padding has no input)");
  bias_term_ = p.bias_term();

  const Tensor<T>& x = *bottom[0];
  CREMA_SHAPE_CHECK(x.num_axes() == 4, "bottom 0 must be 4-d (N, C, H, W), got ", x.shape_string());
  channels_ = x.shape(1);
  height_ = x.shape(2);
  width_ = x.shape(3);
  CREMA_SHAPE_CHECK(channels_ > 0, "bottom 0 has no channels: ", x.shape_string());
  CREMA_SHAPE_CHECK(height_ + 2 * pad_ >= kernel_ && width_ + 2 * pad_ >= kernel_, "input HxW ",
                    height_, "x", width_, " is too small for kernel ", kernel_, " with pad ", pad_,
                    "; need H + 2 pad >= kernel_size");
  out_h_ = (height_ + 2 * pad_ - kernel_) / stride_ + 1;
  out_w_ = (width_ + 2 * pad_ - kernel_) / stride_ + 1;
  this->blobs_.clear();
  this->blobs_.push_back(std::make_shared<Tensor<T>>(
      std::vector<int64_t>{out_h_ * out_w_, num_output_, channels_ * kernel_ * kernel_}));
  this->fill_blob(ctx, p.weight_filler(), 0);
  if (bias_term_) {
    this->blobs_.push_back(
        std::make_shared<Tensor<T>>(std::vector<int64_t>{num_output_, out_h_, out_w_}));
    this->fill_blob(ctx, p.bias_filler(), 1);
  }
}

template <class T>
void LocallyConnectedLayer<T>::reshape(Context& ctx, const TensorVec<T>& bottom,
                                       const TensorVec<T>& top) {
  const Tensor<T>& x = *bottom[0];
  CREMA_SHAPE_CHECK(x.num_axes() == 4, "bottom 0 must be 4-d (N, C, H, W), got ", x.shape_string());
  CREMA_SHAPE_CHECK(x.shape(1) == channels_ && x.shape(2) == height_ && x.shape(3) == width_,
                    "bottom 0 has shape ", x.shape_string(), " but the layer was set up for C, H, ",
                    "W = ", channels_, ", ", height_, ", ", width_,
                    " (its per-position weights fix the input size); feed inputs of that size");
  CREMA_LAYER_CHECK(top[0] != bottom[0], "cannot run in place; give the top its own name");
  const std::vector<int64_t> wshape{out_h_ * out_w_, num_output_, channels_ * kernel_ * kernel_};
  CREMA_SHAPE_CHECK(this->blobs_[0]->shape() == wshape, "the weights have shape ",
                    this->blobs_[0]->shape_string(), ", expected ", shape_string(wshape),
                    " (positions, num_output, C * kernel^2); the loaded weights do not fit");
  if (bias_term_) {
    const std::vector<int64_t> bshape{num_output_, out_h_, out_w_};
    CREMA_SHAPE_CHECK(
        this->blobs_.size() > 1 && this->blobs_[1]->shape() == bshape, "the bias has shape ",
        this->blobs_.size() > 1 ? this->blobs_[1]->shape_string() : "(none)", ", expected ",
        shape_string(bshape), " (num_output, H_out, W_out); the loaded weights do not fit");
  }
  top[0]->reshape({x.shape(0), num_output_, out_h_, out_w_});
  args_ = {x.shape(0), channels_, height_, width_,  num_output_,
           out_h_,     out_w_,    kernel_, stride_, pad_};
}

template <class T>
void LocallyConnectedLayer<T>::forward_cpu(Context& ctx, const TensorVec<T>& bottom,
                                           const TensorVec<T>& top) {
  const kernels::LocallyConnectedArgs a = args_;
  const T* x = bottom[0]->cpu_data();
  const T* weight = this->blobs_[0]->cpu_data();
  const T* bias = bias_term_ ? this->blobs_[1]->cpu_data() : nullptr;
  T* y = top[0]->mutable_cpu_data();
  parallel_for(ctx, top[0]->count(),
               [&](int64_t i) { kernels::locally_connected_forward(i, a, x, weight, bias, y); });
}

template <class T>
void LocallyConnectedLayer<T>::backward_cpu(Context& ctx, const TensorVec<T>& top,
                                            const std::vector<bool>& propagate_down,
                                            const TensorVec<T>& bottom) {
  const kernels::LocallyConnectedArgs a = args_;
  const T* dy = top[0]->cpu_diff();
  if (this->param_propagate_down(0)) {
    const T* x = bottom[0]->cpu_data();
    T* dweight = this->blobs_[0]->mutable_cpu_diff();
    parallel_for(ctx, this->blobs_[0]->count(), [&](int64_t i) {
      kernels::locally_connected_backward_weight(i, a, x, dy, dweight);
    });
  }
  if (bias_term_ && this->param_propagate_down(1)) {
    T* dbias = this->blobs_[1]->mutable_cpu_diff();
    parallel_for(ctx, this->blobs_[1]->count(),
                 [&](int64_t i) { kernels::locally_connected_backward_bias(i, a, dy, dbias); });
  }
  if (propagate_down[0]) {
    const T* weight = this->blobs_[0]->cpu_data();
    T* dx = bottom[0]->mutable_cpu_diff();
    parallel_for(ctx, bottom[0]->count(), [&](int64_t i) {
      kernels::locally_connected_backward_input(i, a, dy, weight, dx);
    });
  }
}

#if CREMA_WITH_CUDA
template <class T>
void LocallyConnectedLayer<T>::forward_gpu(Context& ctx, const TensorVec<T>& bottom,
                                           const TensorVec<T>& top) {
  const T* bias = bias_term_ ? this->blobs_[1]->gpu_data(ctx) : nullptr;
  cuda::launch_locally_connected_forward<T>(
      ctx.cuda_stream(), top[0]->count(), args_, bottom[0]->gpu_data(ctx),
      this->blobs_[0]->gpu_data(ctx), bias, top[0]->mutable_gpu_data(ctx));
}

template <class T>
void LocallyConnectedLayer<T>::backward_gpu(Context& ctx, const TensorVec<T>& top,
                                            const std::vector<bool>& propagate_down,
                                            const TensorVec<T>& bottom) {
  const T* dy = top[0]->gpu_diff(ctx);
  if (this->param_propagate_down(0)) {
    cuda::launch_locally_connected_backward_weight<T>(ctx.cuda_stream(), this->blobs_[0]->count(),
                                                      args_, bottom[0]->gpu_data(ctx), dy,
                                                      this->blobs_[0]->mutable_gpu_diff(ctx));
  }
  if (bias_term_ && this->param_propagate_down(1)) {
    cuda::launch_locally_connected_backward_bias<T>(ctx.cuda_stream(), this->blobs_[1]->count(),
                                                    args_, dy,
                                                    this->blobs_[1]->mutable_gpu_diff(ctx));
  }
  if (propagate_down[0]) {
    cuda::launch_locally_connected_backward_input<T>(ctx.cuda_stream(), bottom[0]->count(), args_,
                                                     dy, this->blobs_[0]->gpu_data(ctx),
                                                     bottom[0]->mutable_gpu_diff(ctx));
  }
}
#endif

CREMA_INSTANTIATE_CLASS(LocallyConnectedLayer);

}  // namespace crema
