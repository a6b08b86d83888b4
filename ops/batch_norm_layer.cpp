#include "ops/batch_norm_layer.h"

#include <algorithm>
#include <cmath>
#include <memory>

#include "core/comm.h"
#include "core/parallel.h"
#include "cuda_kernels/scale.h"
#include "ops/gpu_copy.h"

namespace crema {

template <class T>
void BatchNormLayer<T>::layer_setup(Context& ctx, const TensorVec<T>& bottom,
                                    const TensorVec<T>& top) {
  const BatchNormParameter& p = this->layer_param().batch_norm_param();
  // Caffe: statistics of the batch when training, stored ones when testing, unless set.
  use_global_stats_ = p.has_use_global_stats() ? p.use_global_stats() : this->phase() == TEST;
  moving_average_fraction_ = static_cast<T>(p.moving_average_fraction());
  eps_ = static_cast<T>(p.eps());
  sync_ = p.sync();
  CREMA_LAYER_CHECK(p.eps() > 0 && std::isfinite(p.eps()), "batch_norm_param.eps must be > 0, got ",
                    p.eps(), " (it keeps 1 / sqrt(var + eps) finite; Caffe's default is 1e-5)");
  CREMA_LAYER_CHECK(std::isfinite(p.moving_average_fraction()) &&
                        p.moving_average_fraction() >= 0 && p.moving_average_fraction() <= 1,
                    "batch_norm_param.moving_average_fraction must be in [0, 1], got ",
                    p.moving_average_fraction(), " (Caffe's default is 0.999)");
  CREMA_SHAPE_CHECK(bottom[0]->num_axes() >= 1, "bottom 0 must have at least 1 axis (N, C, ...), ",
                    "got a scalar");
  channels_ = bottom[0]->num_axes() == 1 ? 1 : bottom[0]->shape(1);
  CREMA_SHAPE_CHECK(channels_ > 0, "bottom 0 has no channels: ", bottom[0]->shape_string());

  this->blobs_.clear();
  this->blobs_.push_back(std::make_shared<Tensor<T>>(std::vector<int64_t>{channels_}));
  this->blobs_.push_back(std::make_shared<Tensor<T>>(std::vector<int64_t>{channels_}));
  this->blobs_.push_back(std::make_shared<Tensor<T>>(std::vector<int64_t>{1}));
  for (auto& b : this->blobs_) b->set_data(T(0));

  // The statistics are not learned: as Caffe, give every blob lr_mult 0 (adding the ParamSpecs
  // that are missing) and refuse a non-zero one.
  for (int k = 0; k < 3; ++k) {
    if (k < this->param_.param_size()) {
      CREMA_LAYER_CHECK(this->param_.param(k).lr_mult() == 0, "param ", k, " has lr_mult ",
                        this->param_.param(k).lr_mult(),
                        ", but BatchNorm's blobs are running statistics, not learned parameters; "
                        "set lr_mult: 0 or drop the `param` entries (learn a scale and shift with "
                        "a Scale layer with bias_term: true)");
    } else {
      this->param_.add_param()->set_lr_mult(0);
    }
    this->set_param_propagate_down(k, false);
  }
}

template <class T>
void BatchNormLayer<T>::reshape(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  const Tensor<T>& x = *bottom[0];
  const int64_t c = x.num_axes() == 1 ? 1 : x.shape(1);
  CREMA_SHAPE_CHECK(c == channels_, "bottom 0 has ", c, " channels (shape ", x.shape_string(),
                    ") but the layer was set up for ", channels_);
  if (top[0] != bottom[0]) top[0]->reshape_like(x);
  const int64_t num = x.shape(0);
  args_ = {num, channels_, num * channels_ > 0 ? x.count() / (num * channels_) : 0};
  for (Tensor<T>* t : {&mean_, &var_, &inv_std_, &sum_dy_, &sum_dy_xnorm_}) t->reshape({channels_});
#if CREMA_WITH_CUDA
  save_mean_.reshape({channels_});
#endif
  if (!use_global_stats_) x_norm_.reshape_like(x);
}

template <class T>
T BatchNormLayer<T>::update_factor(double m) {
  // The factor counts the decayed number of updates; the variance sum takes the unbiased batch
  // variance (m / (m - 1)).
  T* factor = this->blobs_[2]->mutable_cpu_data();
  factor[0] = factor[0] * moving_average_fraction_ + T(1);
  return m > 1 ? static_cast<T>(m / (m - 1)) : T(1);
}

template <class T>
void BatchNormLayer<T>::sync_backward_sums(Context& ctx) {
  // The statistics came from every rank, so their gradient does too. The backward body takes
  // means over this rank's m elements: scale the global sums by m / m_global.
  T* sum_dy = sum_dy_.mutable_cpu_data();
  T* sum_dyx = sum_dy_xnorm_.mutable_cpu_data();
  std::vector<double> sums(2 * channels_);
  for (int64_t c = 0; c < channels_; ++c) sums[c] = sum_dy[c], sums[channels_ + c] = sum_dyx[c];
  ctx.comm->allreduce_sum(sums.data(), 2 * channels_,
                          str_cat("SyncBN '", this->name(), "' backward sums"));
  const double scale = static_cast<double>(args_.num * args_.spatial) / sync_count_;
  for (int64_t c = 0; c < channels_; ++c) {
    sum_dy[c] = static_cast<T>(sums[c] * scale);
    sum_dyx[c] = static_cast<T>(sums[channels_ + c] * scale);
  }
}

template <class T>
double BatchNormLayer<T>::sync_stats(Context& ctx, const T* x) {
  const kernels::BatchNormArgs a = args_;
  const int64_t c_n = channels_;
  // Channel sums and the element count, summed over the ranks; then the squared deviations from
  // the global mean (two passes, as the single-process statistics).
  std::vector<double> sum(c_n + 1);
  parallel_for(ctx, c_n, [&](int64_t c) { kernels::batch_norm_partial_sum(c, a, x, sum.data()); });
  sum[c_n] = static_cast<double>(a.num * a.spatial);
  ctx.comm->allreduce_sum(sum.data(), c_n + 1, str_cat("SyncBN '", this->name(), "' sums"));
  const double m = sum[c_n];
  CREMA_CHECK_AS(ShapeError, m > 0, "sync: every rank's batch is empty");
  std::vector<double> mu(c_n), sq(c_n);
  for (int64_t c = 0; c < c_n; ++c) mu[c] = sum[c] / m;
  parallel_for(ctx, c_n, [&](int64_t c) {
    kernels::batch_norm_partial_sq_dev(c, a, x, mu.data(), sq.data());
  });
  ctx.comm->allreduce_sum(sq.data(), c_n, str_cat("SyncBN '", this->name(), "' variances"));
  T* mean = mean_.mutable_cpu_data();
  T* var = var_.mutable_cpu_data();
  for (int64_t c = 0; c < c_n; ++c) {
    mean[c] = static_cast<T>(mu[c]);
    var[c] = static_cast<T>(sq[c] / m);
  }
  sync_count_ = m;
  return m;
}

template <class T>
void BatchNormLayer<T>::forward_cpu(Context& ctx, const TensorVec<T>& bottom,
                                    const TensorVec<T>& top) {
  // An empty batch has no statistics; leave the running ones alone.
  if (bottom[0]->count() == 0 && !synced(ctx)) return;
  const T* x = bottom[0]->cpu_data();
  T* y = top[0]->mutable_cpu_data();
  T* mean = mean_.mutable_cpu_data();
  T* var = var_.mutable_cpu_data();
  T* inv_std = inv_std_.mutable_cpu_data();
  const kernels::BatchNormArgs a = args_;
  const int64_t c_n = channels_;
  T* mean_sum = this->blobs_[0]->mutable_cpu_data();
  T* var_sum = this->blobs_[1]->mutable_cpu_data();
  T* factor = this->blobs_[2]->mutable_cpu_data();
  if (use_global_stats_) {
    const T f = factor[0] == T(0) ? T(0) : T(1) / factor[0];
    parallel_for(ctx, c_n, [&](int64_t c) {
      kernels::batch_norm_global_stats(c, f, mean_sum, var_sum, mean, var);
    });
  } else {
    double m = static_cast<double>(a.num * a.spatial);
    if (synced(ctx)) {
      m = sync_stats(ctx, x);
    } else {
      parallel_for(ctx, c_n, [&](int64_t c) { kernels::batch_norm_stats(c, a, x, mean, var); });
    }
    const T correction = update_factor(m);
    const T fraction = moving_average_fraction_;
    parallel_for(ctx, c_n, [&](int64_t c) {
      kernels::batch_norm_moving_update(c, mean, var, fraction, correction, mean_sum, var_sum);
    });
  }
  const T eps = eps_;
  parallel_for(ctx, c_n, [&](int64_t c) { kernels::batch_norm_inv_std(c, var, eps, inv_std); });
  parallel_for(ctx, a.num * a.channels,
               [&](int64_t i) { kernels::batch_norm_forward(i, a, x, mean, inv_std, y); });
  // A later in-place layer may overwrite the top; backward needs the normalized values.
  if (!use_global_stats_) {
    const int64_t n = top[0]->count();
    const T* src = top[0]->cpu_data();
    std::copy(src, src + n, x_norm_.mutable_cpu_data());
  }
}

template <class T>
void BatchNormLayer<T>::backward_cpu(Context& ctx, const TensorVec<T>& top,
                                     const std::vector<bool>& propagate_down,
                                     const TensorVec<T>& bottom) {
  if (!propagate_down[0]) return;
  const T* dy = top[0]->cpu_diff();
  T* dx = bottom[0]->mutable_cpu_diff();
  const T* inv_std = inv_std_.cpu_data();
  const kernels::BatchNormArgs a = args_;
  const kernels::BroadcastArgs rows{a.num, a.channels, a.spatial};
  if (use_global_stats_) {
    // The statistics are constants: the layer is a per-channel affine map.
    parallel_for(ctx, a.num * a.channels,
                 [&](int64_t i) { kernels::scale_forward<T>(i, rows, dy, inv_std, nullptr, dx); });
    return;
  }
  const T* xnorm = x_norm_.cpu_data();
  T* sum_dy = sum_dy_.mutable_cpu_data();
  T* sum_dyx = sum_dy_xnorm_.mutable_cpu_data();
  parallel_for(ctx, channels_, [&](int64_t c) {
    kernels::batch_norm_backward_sums(c, a, dy, xnorm, sum_dy, sum_dyx);
  });
  if (synced(ctx)) sync_backward_sums(ctx);
  parallel_for(ctx, a.num * a.channels, [&](int64_t i) {
    kernels::batch_norm_backward(i, a, dy, xnorm, sum_dy, sum_dyx, inv_std, dx);
  });
}

#if CREMA_WITH_CUDA
template <class T>
bool BatchNormLayer<T>::cudnn_batch_stats(const Context& ctx) const {
  return !synced(ctx) && args_.num * args_.spatial > 1;
}

template <class T>
void BatchNormLayer<T>::forward_gpu(Context& ctx, const TensorVec<T>& bottom,
                                    const TensorVec<T>& top) {
  if (bottom[0]->count() == 0 && !synced(ctx)) return;
  const cuda::Stream s = ctx.cuda_stream();
  const kernels::BatchNormArgs a = args_;
  const int64_t c_n = channels_;
  cudnn_trained_ = false;
  const bool cudnn_stats = !use_global_stats_ && cudnn_batch_stats(ctx);
  if (use_global_stats_ || cudnn_stats) {
    x_desc_.set_4d<T>(a.num, a.channels, a.spatial, 1);
    bn_desc_.set_batch_norm_of(x_desc_);
    if (bn_scale_.count() != c_n) {
      bn_scale_.reshape({c_n});
      bn_scale_.set_data(T(1));
      bn_bias_.reshape({c_n});
      bn_bias_.set_data(T(0));
    }
  }
  const T* x = bottom[0]->gpu_data(ctx);
  if (use_global_stats_) {
    const T stored = this->blobs_[2]->cpu_data()[0];
    const T f = stored == T(0) ? T(0) : T(1) / stored;
    cuda::launch_batch_norm_global_stats<T>(
        s, c_n, f, this->blobs_[0]->gpu_data(ctx), this->blobs_[1]->gpu_data(ctx),
        mean_.mutable_gpu_data(ctx), var_.mutable_gpu_data(ctx));
    cuda::launch_batch_norm_inv_std<T>(s, c_n, var_.gpu_data(ctx), eps_,
                                       inv_std_.mutable_gpu_data(ctx));
    cudnn::check(cudnnBatchNormalizationForwardInference(
                     cudnn::handle(ctx), CUDNN_BATCHNORM_SPATIAL, &cudnn::kOne<T>, &cudnn::kZero<T>,
                     x_desc_.get(), x, x_desc_.get(), top[0]->mutable_gpu_data(ctx), bn_desc_.get(),
                     bn_scale_.gpu_data(ctx), bn_bias_.gpu_data(ctx), mean_.gpu_data(ctx),
                     var_.gpu_data(ctx), static_cast<double>(eps_)),
                 "cudnnBatchNormalizationForwardInference");
    return;
  }
  if (cudnn_stats) {
    // cuDNN's backward reads the input, which an in-place forward overwrites: keep a copy (the
    // forward reads the copy too, so x and y never alias).
    x_saved_.reshape_like(*bottom[0]);
    T* saved = x_saved_.mutable_gpu_data(ctx);
    cuda::copy<T>(ctx, bottom[0]->count(), x, saved);
    // Average factor 1: mean_ and var_ receive the batch mean and unbiased variance (cuDNN adds
    // 0 x their old values, so clear them: a NaN there would stay); inv_std_ receives
    // 1 / sqrt(biased variance + eps), the normalisation Caffe applies.
    cuda::zero_bytes(ctx, mean_.mutable_gpu_data(ctx), c_n * sizeof(T));
    cuda::zero_bytes(ctx, var_.mutable_gpu_data(ctx), c_n * sizeof(T));
    cudnn::check(
        cudnnBatchNormalizationForwardTraining(
            cudnn::handle(ctx), CUDNN_BATCHNORM_SPATIAL, &cudnn::kOne<T>, &cudnn::kZero<T>,
            x_desc_.get(), saved, x_desc_.get(), top[0]->mutable_gpu_data(ctx), bn_desc_.get(),
            bn_scale_.gpu_data(ctx), bn_bias_.gpu_data(ctx), 1.0, mean_.mutable_gpu_data(ctx),
            var_.mutable_gpu_data(ctx), static_cast<double>(eps_), save_mean_.mutable_gpu_data(ctx),
            inv_std_.mutable_gpu_data(ctx)),
        "cudnnBatchNormalizationForwardTraining");
    update_factor(static_cast<double>(a.num * a.spatial));
    // The variance is already unbiased: correction 1.
    cuda::launch_batch_norm_moving_update<T>(
        s, c_n, mean_.gpu_data(ctx), var_.gpu_data(ctx), moving_average_fraction_, T(1),
        this->blobs_[0]->mutable_gpu_data(ctx), this->blobs_[1]->mutable_gpu_data(ctx));
    cudnn_trained_ = true;
    return;
  }
  // SyncBN, or one element per channel: the CPU path's bodies.
  double m = static_cast<double>(a.num * a.spatial);
  // SyncBN takes its partial sums on the host (the input comes back once) for the MPI reduction.
  if (synced(ctx)) {
    m = sync_stats(ctx, bottom[0]->cpu_data());
  } else {
    cuda::launch_batch_norm_stats<T>(s, c_n, a, x, mean_.mutable_gpu_data(ctx),
                                     var_.mutable_gpu_data(ctx));
  }
  const T correction = update_factor(m);
  cuda::launch_batch_norm_moving_update<T>(
      s, c_n, mean_.gpu_data(ctx), var_.gpu_data(ctx), moving_average_fraction_, correction,
      this->blobs_[0]->mutable_gpu_data(ctx), this->blobs_[1]->mutable_gpu_data(ctx));
  cuda::launch_batch_norm_inv_std<T>(s, c_n, var_.gpu_data(ctx), eps_,
                                     inv_std_.mutable_gpu_data(ctx));
  cuda::launch_batch_norm_forward<T>(s, a.num * a.channels, a, bottom[0]->gpu_data(ctx),
                                     mean_.gpu_data(ctx), inv_std_.gpu_data(ctx),
                                     top[0]->mutable_gpu_data(ctx));
  cuda::copy<T>(ctx, top[0]->count(), top[0]->gpu_data(ctx), x_norm_.mutable_gpu_data(ctx));
}

template <class T>
void BatchNormLayer<T>::backward_gpu(Context& ctx, const TensorVec<T>& top,
                                     const std::vector<bool>& propagate_down,
                                     const TensorVec<T>& bottom) {
  if (!propagate_down[0]) return;
  const cuda::Stream s = ctx.cuda_stream();
  const kernels::BatchNormArgs a = args_;
  const T* dy = top[0]->gpu_diff(ctx);
  if (use_global_stats_) {
    cuda::launch_scale_forward_element<T>(s, bottom[0]->count(), {a.num, a.channels, a.spatial}, dy,
                                          inv_std_.gpu_data(ctx), nullptr,
                                          bottom[0]->mutable_gpu_diff(ctx));
    return;
  }
  if (cudnn_trained_) {
    T* dx = bottom[0]->mutable_gpu_diff(ctx);
    if (dx == dy) {  // in place: cuDNN does not promise that dx may alias dy
      dy_copy_.reshape_like(*top[0]);
      T* copy = dy_copy_.mutable_gpu_data(ctx);
      cuda::copy<T>(ctx, top[0]->count(), dy, copy);
      dy = copy;
    }
    dscale_.reshape({channels_});
    dbias_.reshape({channels_});
    cudnn::check(cudnnBatchNormalizationBackward(
                     cudnn::handle(ctx), CUDNN_BATCHNORM_SPATIAL, &cudnn::kOne<T>, &cudnn::kZero<T>,
                     &cudnn::kOne<T>, &cudnn::kZero<T>, x_desc_.get(), x_saved_.gpu_data(ctx),
                     x_desc_.get(), dy, x_desc_.get(), dx, bn_desc_.get(), bn_scale_.gpu_data(ctx),
                     dscale_.mutable_gpu_data(ctx), dbias_.mutable_gpu_data(ctx),
                     static_cast<double>(eps_), save_mean_.gpu_data(ctx), inv_std_.gpu_data(ctx)),
                 "cudnnBatchNormalizationBackward");
    return;
  }
  cuda::launch_batch_norm_backward_sums<T>(s, channels_, a, dy, x_norm_.gpu_data(ctx),
                                           sum_dy_.mutable_gpu_data(ctx),
                                           sum_dy_xnorm_.mutable_gpu_data(ctx));
  if (synced(ctx)) sync_backward_sums(ctx);
  cuda::launch_batch_norm_backward<T>(
      s, a.num * a.channels, a, top[0]->gpu_diff(ctx), x_norm_.gpu_data(ctx), sum_dy_.gpu_data(ctx),
      sum_dy_xnorm_.gpu_data(ctx), inv_std_.gpu_data(ctx), bottom[0]->mutable_gpu_diff(ctx));
}
#endif

CREMA_INSTANTIATE_CLASS(BatchNormLayer);

}  // namespace crema
