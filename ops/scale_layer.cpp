#include "ops/scale_layer.h"

#include <algorithm>
#include <memory>

#include "core/parallel.h"
#include "cuda_kernels/scale.h"
#include "ops/bias_layer.h"
#include "ops/gpu_copy.h"

namespace crema {

template <class T>
void ScaleLayer<T>::layer_setup(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  const ScaleParameter& p = this->layer_param().scale_param();
  bias_term_ = p.bias_term();
  this->blobs_.clear();
  std::vector<int64_t> shape;
  if (bottom.size() == 1) {
    shape = broadcast_param_shape(bottom[0]->shape(), p.axis(), p.num_axes(), "scale_param");
    this->blobs_.push_back(std::make_shared<Tensor<T>>(shape));
    if (p.has_filler()) {
      this->fill_blob(ctx, p.filler(), 0);
    } else {
      this->blobs_[0]->set_data(T(1));  // Caffe's default: the identity
    }
  } else {
    // The bias covers the same axes as the scale bottom.
    shape = bottom[1]->shape();
    broadcast_dims(bottom[0]->shape(), shape, p.axis(), "bottom 1 (the scale)", "scale_param");
  }
  bias_index_ = -1;
  if (bias_term_) {
    bias_index_ = static_cast<int>(this->blobs_.size());
    this->blobs_.push_back(std::make_shared<Tensor<T>>(shape));
    this->fill_blob(ctx, p.bias_filler(), bias_index_);  // default: constant 0
  }
}

template <class T>
void ScaleLayer<T>::reshape(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  const Tensor<T>& s = scale(bottom);
  dims_ =
      broadcast_dims(bottom[0]->shape(), s.shape(), this->layer_param().scale_param().axis(),
                     bottom.size() > 1 ? "bottom 1 (the scale)" : "the scale blob", "scale_param");
  if (bias_term_)
    CREMA_SHAPE_CHECK(this->blobs_[bias_index_]->shape() == s.shape(), "the bias blob has shape ",
                      this->blobs_[bias_index_]->shape_string(), " but the scale has ",
                      s.shape_string(), "; they must match");
  if (top[0] != bottom[0]) {
    top[0]->reshape_like(*bottom[0]);
  } else {
    x_copy_.reshape_like(*bottom[0]);
  }
}

template <class T>
void ScaleLayer<T>::forward_cpu(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  const T* x = bottom[0]->cpu_data();
  // In place, the scale gradient still needs the input.
  if (top[0] == bottom[0]) std::copy(x, x + bottom[0]->count(), x_copy_.mutable_cpu_data());
  const T* s = scale(bottom).cpu_data();
  const T* b = bias_term_ ? this->blobs_[bias_index_]->cpu_data() : nullptr;
  T* y = top[0]->mutable_cpu_data();
  const kernels::BroadcastArgs d = dims_;
  parallel_for(ctx, d.outer * d.dim, [&](int64_t i) { kernels::scale_forward(i, d, x, s, b, y); });
}

template <class T>
void ScaleLayer<T>::backward_cpu(Context& ctx, const TensorVec<T>& top,
                                 const std::vector<bool>& propagate_down,
                                 const TensorVec<T>& bottom) {
  const kernels::BroadcastArgs d = dims_;
  const T* dy = top[0]->cpu_diff();
  // Parameter and scale-bottom gradients first: in place, dx overwrites dy.
  if (bias_term_ && this->param_propagate_down(bias_index_)) {
    T* db = this->blobs_[bias_index_]->mutable_cpu_diff();
    parallel_for(ctx, d.dim, [&](int64_t k) { kernels::bias_param_backward(k, d, dy, db, true); });
  }
  const bool learned = bottom.size() == 1;
  if (learned ? this->param_propagate_down(0) : propagate_down[1]) {
    const T* x = (top[0] == bottom[0] ? x_copy_ : *bottom[0]).cpu_data();
    // A learned scale accumulates its diff; a scale bottom gets it written.
    T* ds = (learned ? this->blobs_[0].get() : bottom[1])->mutable_cpu_diff();
    parallel_for(ctx, d.dim,
                 [&](int64_t k) { kernels::scale_param_backward(k, d, dy, x, ds, learned); });
  }
  if (propagate_down[0]) {
    const T* s = scale(bottom).cpu_data();
    T* dx = bottom[0]->mutable_cpu_diff();
    parallel_for(ctx, d.outer * d.dim,
                 [&](int64_t i) { kernels::scale_forward<T>(i, d, dy, s, nullptr, dx); });
  }
}

#if CREMA_WITH_CUDA
template <class T>
void ScaleLayer<T>::forward_gpu(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  const T* x = bottom[0]->gpu_data(ctx);
  // In place, the scale gradient still needs the input.
  if (top[0] == bottom[0]) cuda::copy(ctx, bottom[0]->count(), x, x_copy_.mutable_gpu_data(ctx));
  const T* b = bias_term_ ? this->blobs_[bias_index_]->gpu_data(ctx) : nullptr;
  cuda::launch_scale_forward_element<T>(ctx.cuda_stream(), bottom[0]->count(), dims_, x,
                                        scale(bottom).gpu_data(ctx), b,
                                        top[0]->mutable_gpu_data(ctx));
}

template <class T>
void ScaleLayer<T>::backward_gpu(Context& ctx, const TensorVec<T>& top,
                                 const std::vector<bool>& propagate_down,
                                 const TensorVec<T>& bottom) {
  const kernels::BroadcastArgs d = dims_;
  const T* dy = top[0]->gpu_diff(ctx);
  // As backward_cpu: parameter and scale-bottom gradients first, since in place dx overwrites dy.
  if (bias_term_ && this->param_propagate_down(bias_index_)) {
    cuda::launch_bias_param_backward<T>(ctx.cuda_stream(), d.dim, d, dy,
                                        this->blobs_[bias_index_]->mutable_gpu_diff(ctx), true);
  }
  const bool learned = bottom.size() == 1;
  if (learned ? this->param_propagate_down(0) : propagate_down[1]) {
    const T* x = (top[0] == bottom[0] ? x_copy_ : *bottom[0]).gpu_data(ctx);
    T* ds = (learned ? this->blobs_[0].get() : bottom[1])->mutable_gpu_diff(ctx);
    cuda::launch_scale_param_backward<T>(ctx.cuda_stream(), d.dim, d, dy, x, ds, learned);
  }
  if (propagate_down[0]) {
    cuda::launch_scale_forward_element<T>(ctx.cuda_stream(), top[0]->count(), d, dy,
                                          scale(bottom).gpu_data(ctx), nullptr,
                                          bottom[0]->mutable_gpu_diff(ctx));
  }
}
#endif

CREMA_INSTANTIATE_CLASS(ScaleLayer);

}  // namespace crema
