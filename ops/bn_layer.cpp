#include "ops/bn_layer.h"

#include <algorithm>
#include <cmath>
#include <memory>

#include "core/blas.h"
#include "core/gpu_blas.h"
#include "core/parallel.h"
#include "cuda_kernels/bn.h"
#include "ops/gpu_copy.h"

namespace crema {

template <class T>
void BNLayer<T>::layer_setup(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  const BNParameter& p = this->layer_param().bn_param();
  frozen_ = p.frozen();
  momentum_ = static_cast<T>(p.momentum());
  eps_ = static_cast<T>(p.eps());
  CREMA_LAYER_CHECK(p.eps() > 0 && std::isfinite(p.eps()), "bn_param.eps must be > 0, got ",
                    p.eps(), " (it keeps 1 / sqrt(var + eps) finite; the default is 1e-5)");
  CREMA_LAYER_CHECK(std::isfinite(p.momentum()) && p.momentum() >= 0 && p.momentum() <= 1,
                    "bn_param.momentum must be in [0, 1], got ", p.momentum(),
                    " (the weight of the old running statistics; the default is 0.9)");
  CREMA_SHAPE_CHECK(bottom[0]->num_axes() >= 2, "bottom 0 must be (N, C, ...) with at least 2 ",
                    "axes, got ", bottom[0]->shape_string());
  channels_ = bottom[0]->shape(1);
  CREMA_SHAPE_CHECK(channels_ > 0, "bottom 0 has no channels: ", bottom[0]->shape_string());

  const std::vector<int64_t> shape{1, channels_};
  this->blobs_.clear();
  for (int k = 0; k < 4; ++k) this->blobs_.push_back(std::make_shared<Tensor<T>>(shape));
  // The fork's defaults: fillers as given (FillerParameter's default is constant 0), running
  // mean 0, running variance 1 when frozen and 0 otherwise.
  this->fill_blob(ctx, p.slope_filler(), 0);
  this->fill_blob(ctx, p.bias_filler(), 1);
  this->blobs_[2]->set_data(T(0));
  this->blobs_[3]->set_data(frozen_ ? T(1) : T(0));

  // As the fork: the running statistics (and, when frozen, scale and shift too) get lr_mult and
  // decay_mult 0, overriding the prototxt, and take no gradient.
  while (this->param_.param_size() < 4) this->param_.add_param();
  for (int k = 0; k < 4; ++k) {
    const bool fixed = k >= 2 || frozen_;
    if (fixed) {
      this->param_.mutable_param(k)->set_lr_mult(0);
      this->param_.mutable_param(k)->set_decay_mult(0);
    }
    this->set_param_propagate_down(k, !fixed);
  }
}

template <class T>
void BNLayer<T>::reshape(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  const Tensor<T>& x = *bottom[0];
  CREMA_SHAPE_CHECK(x.num_axes() >= 2 && x.shape(1) == channels_, "bottom 0 has shape ",
                    x.shape_string(), " but the layer was set up for ", channels_,
                    " channels on axis 1");
  if (top[0] != bottom[0]) top[0]->reshape_like(x);
  args_ = {x.shape(0), channels_, x.count(2)};
  for (Tensor<T>* t : {&mean_, &var_, &inv_std_, &gain_, &bias_, &sum_dy_, &sum_dy_xnorm_})
    t->reshape({channels_});
  if (!frozen_) x_norm_.reshape_like(x);
}

template <class T>
void BNLayer<T>::forward_cpu(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  // An empty batch has no statistics; leave the running ones alone.
  if (bottom[0]->count() == 0) return;
  const kernels::BatchNormArgs a = args_;
  const int64_t c_n = channels_;
  const T* x = bottom[0]->cpu_data();
  T* y = top[0]->mutable_cpu_data();
  const T* scale = this->blobs_[0]->cpu_data();
  const T* shift = this->blobs_[1]->cpu_data();
  T* mean = mean_.mutable_cpu_data();
  T* var = var_.mutable_cpu_data();
  T* inv_std = inv_std_.mutable_cpu_data();
  if (use_running()) {
    std::copy(this->blobs_[2]->cpu_data(), this->blobs_[2]->cpu_data() + c_n, mean);
    std::copy(this->blobs_[3]->cpu_data(), this->blobs_[3]->cpu_data() + c_n, var);
  } else {
    parallel_for(ctx, c_n, [&](int64_t c) { kernels::batch_norm_stats(c, a, x, mean, var); });
    T* run_mean = this->blobs_[2]->mutable_cpu_data();
    T* run_var = this->blobs_[3]->mutable_cpu_data();
    const T momentum = momentum_;
    parallel_for(ctx, c_n, [&](int64_t c) {
      kernels::bn_running_update(c, mean, var, momentum, run_mean, run_var);
    });
  }
  const T eps = eps_;
  parallel_for(ctx, c_n, [&](int64_t c) { kernels::batch_norm_inv_std(c, var, eps, inv_std); });
  const kernels::BroadcastArgs rows{a.num, a.channels, a.spatial};
  const int64_t n_rows = a.num * a.channels;
  if (frozen_) {
    // A fixed per-channel affine map: one pass.
    T* gain = gain_.mutable_cpu_data();
    T* bias = bias_.mutable_cpu_data();
    parallel_for(ctx, c_n,
                 [&](int64_t c) { kernels::bn_fold(c, scale, shift, mean, inv_std, gain, bias); });
    parallel_for(ctx, n_rows,
                 [&](int64_t i) { kernels::scale_forward(i, rows, x, gain, bias, y); });
    return;
  }
  // Keep the normalized input: backward needs it, and a later in-place layer may overwrite y.
  T* xnorm = x_norm_.mutable_cpu_data();
  parallel_for(ctx, n_rows,
               [&](int64_t i) { kernels::batch_norm_forward(i, a, x, mean, inv_std, xnorm); });
  parallel_for(ctx, n_rows,
               [&](int64_t i) { kernels::scale_forward(i, rows, xnorm, scale, shift, y); });
}

template <class T>
void BNLayer<T>::backward_cpu(Context& ctx, const TensorVec<T>& top,
                              const std::vector<bool>& propagate_down, const TensorVec<T>& bottom) {
  if (bottom[0]->count() == 0) return;
  const kernels::BatchNormArgs a = args_;
  const int64_t c_n = channels_;
  const kernels::BroadcastArgs rows{a.num, a.channels, a.spatial};
  const int64_t n_rows = a.num * a.channels;
  const T* dy = top[0]->cpu_diff();
  const T* scale = this->blobs_[0]->cpu_data();
  const T* shift = this->blobs_[1]->cpu_data();
  const T* mean = mean_.cpu_data();
  const T* inv_std = inv_std_.cpu_data();
  T* gain = gain_.mutable_cpu_data();
  T* bias = bias_.mutable_cpu_data();
  parallel_for(ctx, c_n,
               [&](int64_t c) { kernels::bn_fold(c, scale, shift, mean, inv_std, gain, bias); });
  if (!frozen_) {
    // Sums of dy and dy * xnorm: the shift and scale gradients, and the batch-statistics terms
    // of the input gradient. Computed before dx, which may share dy's memory.
    const T* xnorm = x_norm_.cpu_data();
    T* sum_dy = sum_dy_.mutable_cpu_data();
    T* sum_dyx = sum_dy_xnorm_.mutable_cpu_data();
    parallel_for(ctx, c_n, [&](int64_t c) {
      kernels::batch_norm_backward_sums(c, a, dy, xnorm, sum_dy, sum_dyx);
    });
    if (this->param_propagate_down(0))
      blas::axpy<T>(c_n, T(1), sum_dyx, this->blobs_[0]->mutable_cpu_diff());
    if (this->param_propagate_down(1))
      blas::axpy<T>(c_n, T(1), sum_dy, this->blobs_[1]->mutable_cpu_diff());
    if (propagate_down[0] && !use_running()) {
      T* dx = bottom[0]->mutable_cpu_diff();
      parallel_for(ctx, n_rows, [&](int64_t i) {
        kernels::batch_norm_backward(i, a, dy, xnorm, sum_dy, sum_dyx, gain, dx);
      });
      return;
    }
  }
  // Running statistics are constants: the input gradient is the per-channel gain.
  if (!propagate_down[0]) return;
  T* dx = bottom[0]->mutable_cpu_diff();
  parallel_for(ctx, n_rows,
               [&](int64_t i) { kernels::scale_forward<T>(i, rows, dy, gain, nullptr, dx); });
}

#if CREMA_WITH_CUDA
template <class T>
void BNLayer<T>::forward_gpu(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  if (bottom[0]->count() == 0) return;
  const cuda::Stream s = ctx.cuda_stream();
  const kernels::BatchNormArgs a = args_;
  const int64_t c_n = channels_;
  const T* x = bottom[0]->gpu_data(ctx);
  T* mean = mean_.mutable_gpu_data(ctx);
  T* var = var_.mutable_gpu_data(ctx);
  T* inv_std = inv_std_.mutable_gpu_data(ctx);
  if (use_running()) {
    cuda::copy<T>(ctx, c_n, this->blobs_[2]->gpu_data(ctx), mean);
    cuda::copy<T>(ctx, c_n, this->blobs_[3]->gpu_data(ctx), var);
  } else {
    cuda::launch_batch_norm_stats<T>(s, c_n, a, x, mean, var);
    cuda::launch_bn_running_update<T>(s, c_n, mean, var, momentum_,
                                      this->blobs_[2]->mutable_gpu_data(ctx),
                                      this->blobs_[3]->mutable_gpu_data(ctx));
  }
  cuda::launch_batch_norm_inv_std<T>(s, c_n, var, eps_, inv_std);
  const kernels::BroadcastArgs rows{a.num, a.channels, a.spatial};
  const int64_t n_rows = a.num * a.channels;
  const T* scale = this->blobs_[0]->gpu_data(ctx);
  const T* shift = this->blobs_[1]->gpu_data(ctx);
  T* y = top[0]->mutable_gpu_data(ctx);
  if (frozen_) {
    T* gain = gain_.mutable_gpu_data(ctx);
    T* bias = bias_.mutable_gpu_data(ctx);
    cuda::launch_bn_fold<T>(s, c_n, scale, shift, mean, inv_std, gain, bias);
    cuda::launch_scale_forward_element<T>(s, bottom[0]->count(), rows, x, gain, bias, y);
    return;
  }
  T* xnorm = x_norm_.mutable_gpu_data(ctx);
  cuda::launch_batch_norm_forward<T>(s, n_rows, a, x, mean, inv_std, xnorm);
  cuda::launch_scale_forward_element<T>(s, bottom[0]->count(), rows, xnorm, scale, shift, y);
}

template <class T>
void BNLayer<T>::backward_gpu(Context& ctx, const TensorVec<T>& top,
                              const std::vector<bool>& propagate_down, const TensorVec<T>& bottom) {
  if (bottom[0]->count() == 0) return;
  const cuda::Stream s = ctx.cuda_stream();
  const kernels::BatchNormArgs a = args_;
  const int64_t c_n = channels_;
  const kernels::BroadcastArgs rows{a.num, a.channels, a.spatial};
  const int64_t n_rows = a.num * a.channels;
  const T* dy = top[0]->gpu_diff(ctx);
  T* gain = gain_.mutable_gpu_data(ctx);
  cuda::launch_bn_fold<T>(s, c_n, this->blobs_[0]->gpu_data(ctx), this->blobs_[1]->gpu_data(ctx),
                          mean_.gpu_data(ctx), inv_std_.gpu_data(ctx), gain,
                          bias_.mutable_gpu_data(ctx));
  if (!frozen_) {
    // As backward_cpu: the sums come before dx, which may share dy's memory.
    const T* xnorm = x_norm_.gpu_data(ctx);
    T* sum_dy = sum_dy_.mutable_gpu_data(ctx);
    T* sum_dyx = sum_dy_xnorm_.mutable_gpu_data(ctx);
    cuda::launch_batch_norm_backward_sums<T>(s, c_n, a, dy, xnorm, sum_dy, sum_dyx);
    if (this->param_propagate_down(0))
      gpu_axpy<T>(ctx, c_n, T(1), sum_dyx, this->blobs_[0]->mutable_gpu_diff(ctx));
    if (this->param_propagate_down(1))
      gpu_axpy<T>(ctx, c_n, T(1), sum_dy, this->blobs_[1]->mutable_gpu_diff(ctx));
    if (propagate_down[0] && !use_running()) {
      cuda::launch_batch_norm_backward<T>(s, n_rows, a, dy, xnorm, sum_dy, sum_dyx, gain,
                                          bottom[0]->mutable_gpu_diff(ctx));
      return;
    }
  }
  if (!propagate_down[0]) return;
  cuda::launch_scale_forward_element<T>(s, bottom[0]->count(), rows, dy, gain, nullptr,
                                        bottom[0]->mutable_gpu_diff(ctx));
}
#endif

CREMA_INSTANTIATE_CLASS(BNLayer);

}  // namespace crema
