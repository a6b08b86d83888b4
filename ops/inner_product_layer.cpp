#include "ops/inner_product_layer.h"

#include <memory>

#include "core/blas.h"
#include "core/cudnn_util.h"

namespace crema {

template <class T>
int InnerProductLayer<T>::canonical_axis(const Tensor<T>& bottom) const {
  const int axis = this->layer_param().inner_product_param().axis();
  const int num_axes = bottom.num_axes();
  CREMA_SHAPE_CHECK(axis >= -num_axes && axis < num_axes, "axis ", axis,
                    " is out of range for bottom 0 of shape ", bottom.shape_string(), " (",
                    num_axes, " axes); use an axis in [", -num_axes, ", ", num_axes, ")");
  return axis < 0 ? axis + num_axes : axis;
}

template <class T>
void InnerProductLayer<T>::layer_setup(Context& ctx, const TensorVec<T>& bottom,
                                       const TensorVec<T>& top) {
  const InnerProductParameter& ip = this->layer_param().inner_product_param();
  n_ = ip.num_output();
  bias_term_ = ip.bias_term();
  transpose_ = ip.transpose();
  CREMA_LAYER_CHECK(n_ > 0, "num_output must be > 0, got ", n_,
                    "; set inner_product_param { num_output: ... }");
  k_ = bottom[0]->count(canonical_axis(*bottom[0]));
  CREMA_SHAPE_CHECK(k_ > 0, "bottom 0 has no inputs to connect from axis ", ip.axis(),
                    " on: ", bottom[0]->shape_string());
  this->blobs_.clear();
  this->blobs_.push_back(std::make_shared<Tensor<T>>(transpose_ ? std::vector<int64_t>{k_, n_}
                                                                : std::vector<int64_t>{n_, k_}));
  this->fill_blob(ctx, ip.weight_filler(), 0);
  if (bias_term_) {
    this->blobs_.push_back(std::make_shared<Tensor<T>>(std::vector<int64_t>{n_}));
    this->fill_blob(ctx, ip.bias_filler(), 1);
  }
}

template <class T>
void InnerProductLayer<T>::reshape(Context& ctx, const TensorVec<T>& bottom,
                                   const TensorVec<T>& top) {
  const int axis = canonical_axis(*bottom[0]);
  const int64_t k = bottom[0]->count(axis);
  CREMA_SHAPE_CHECK(k == k_, "bottom 0 of shape ", bottom[0]->shape_string(), " flattens to K=", k,
                    " inputs from axis ", axis, " on, but the weights expect K=", k_,
                    "; the input size may not change after setup");
  CREMA_LAYER_CHECK(top[0] != bottom[0], "cannot run in place; give the top its own name");
  m_ = bottom[0]->count(0, axis);
  std::vector<int64_t> shape(bottom[0]->shape().begin(), bottom[0]->shape().begin() + axis);
  shape.push_back(n_);
  top[0]->reshape(shape);
  if (bias_term_ && bias_multiplier_.count() != m_) {
    // Refilled only when M changes, so a GPU run does not copy the ones to the device each pass.
    bias_multiplier_.reshape({m_});
    bias_multiplier_.set_data(T(1));
  }
}

template <class T>
void InnerProductLayer<T>::forward_cpu(Context& ctx, const TensorVec<T>& bottom,
                                       const TensorVec<T>& top) {
  T* y = top[0]->mutable_cpu_data();
  // y (M x N) = x (M x K) * W^T, W stored N x K (or K x N when transposed).
  blas::gemm<T>(false, !transpose_, m_, n_, k_, T(1), bottom[0]->cpu_data(),
                this->blobs_[0]->cpu_data(), T(0), y);
  if (bias_term_)
    blas::gemm<T>(false, false, m_, n_, 1, T(1), bias_multiplier_.cpu_data(),
                  this->blobs_[1]->cpu_data(), T(1), y);
}

template <class T>
void InnerProductLayer<T>::backward_cpu(Context& ctx, const TensorVec<T>& top,
                                        const std::vector<bool>& propagate_down,
                                        const TensorVec<T>& bottom) {
  const T* dy = top[0]->cpu_diff();
  if (this->param_propagate_down(0)) {
    const T* x = bottom[0]->cpu_data();
    T* dw = this->blobs_[0]->mutable_cpu_diff();
    if (transpose_)  // dW (K x N) += x^T dy
      blas::gemm<T>(true, false, k_, n_, m_, T(1), x, dy, T(1), dw);
    else  // dW (N x K) += dy^T x
      blas::gemm<T>(true, false, n_, k_, m_, T(1), dy, x, T(1), dw);
  }
  if (bias_term_ && this->param_propagate_down(1))
    blas::gemv<T>(true, m_, n_, T(1), dy, bias_multiplier_.cpu_data(), T(1),
                  this->blobs_[1]->mutable_cpu_diff());
  if (propagate_down[0])  // dx (M x K) = dy W (or dy W^T when transposed)
    blas::gemm<T>(false, transpose_, m_, k_, n_, T(1), dy, this->blobs_[0]->cpu_data(), T(0),
                  bottom[0]->mutable_cpu_diff());
}

#if CREMA_WITH_CUDA
template <class T>
void InnerProductLayer<T>::forward_gpu(Context& ctx, const TensorVec<T>& bottom,
                                       const TensorVec<T>& top) {
  T* y = top[0]->mutable_gpu_data(ctx);
  cudnn::gemm<T>(ctx, false, !transpose_, m_, n_, k_, T(1), bottom[0]->gpu_data(ctx),
                 this->blobs_[0]->gpu_data(ctx), T(0), y);
  if (bias_term_)
    cudnn::gemm<T>(ctx, false, false, m_, n_, 1, T(1), bias_multiplier_.gpu_data(ctx),
                   this->blobs_[1]->gpu_data(ctx), T(1), y);
}

template <class T>
void InnerProductLayer<T>::backward_gpu(Context& ctx, const TensorVec<T>& top,
                                        const std::vector<bool>& propagate_down,
                                        const TensorVec<T>& bottom) {
  // As backward_cpu: parameter diffs accumulate (beta = 1), the bottom diff is written.
  const T* dy = top[0]->gpu_diff(ctx);
  if (this->param_propagate_down(0)) {
    const T* x = bottom[0]->gpu_data(ctx);
    T* dw = this->blobs_[0]->mutable_gpu_diff(ctx);
    if (transpose_)
      cudnn::gemm<T>(ctx, true, false, k_, n_, m_, T(1), x, dy, T(1), dw);
    else
      cudnn::gemm<T>(ctx, true, false, n_, k_, m_, T(1), dy, x, T(1), dw);
  }
  if (bias_term_ && this->param_propagate_down(1))
    cudnn::gemv<T>(ctx, true, m_, n_, T(1), dy, bias_multiplier_.gpu_data(ctx), T(1),
                   this->blobs_[1]->mutable_gpu_diff(ctx));
  if (propagate_down[0])
    cudnn::gemm<T>(ctx, false, transpose_, m_, k_, n_, T(1), dy, this->blobs_[0]->gpu_data(ctx),
                   T(0), bottom[0]->mutable_gpu_diff(ctx));
}
#endif

CREMA_INSTANTIATE_CLASS(InnerProductLayer);

}  // namespace crema
