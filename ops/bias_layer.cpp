#include "ops/bias_layer.h"

#include <algorithm>
#include <memory>

#include "core/parallel.h"
#include "ops/gpu_copy.h"

namespace crema {
namespace {

int canonical_axis(int axis, int num_axes, const char* field) {
  CREMA_LAYER_CHECK(axis >= -num_axes && axis < num_axes, field, ".axis ", axis,
                    " is out of range for a bottom with ", num_axes, " axes; use an axis in [",
                    -num_axes, ", ", num_axes - 1, "]");
  return axis < 0 ? axis + num_axes : axis;
}

}  // namespace

std::vector<int64_t> broadcast_param_shape(const std::vector<int64_t>& bottom, int axis,
                                           int num_axes, const char* field) {
  const int n = static_cast<int>(bottom.size());
  const int a = canonical_axis(axis, n, field);
  CREMA_LAYER_CHECK(num_axes >= -1, field, ".num_axes must be >= 0, or -1 for all axes from ",
                    "`axis` on; got ", num_axes);
  CREMA_LAYER_CHECK(num_axes == -1 || a + num_axes <= n, field, ".num_axes ", num_axes,
                    " from axis ", a, " extends past the bottom's ", n, " axes (",
                    shape_string(bottom), ")");
  const int end = num_axes == -1 ? n : a + num_axes;
  return std::vector<int64_t>(bottom.begin() + a, bottom.begin() + end);
}

kernels::BroadcastArgs broadcast_dims(const std::vector<int64_t>& bottom,
                                      const std::vector<int64_t>& factor, int axis,
                                      const char* what, const char* field) {
  const int n = static_cast<int>(bottom.size());
  const int k = static_cast<int>(factor.size());
  // A scalar factor broadcasts everywhere; Caffe ignores the axis then.
  const int a = k == 0 ? 0 : canonical_axis(axis, n, field);
  bool fits = a + k <= n;
  for (int i = 0; fits && i < k; ++i) fits = bottom[a + i] == factor[i];
  CREMA_SHAPE_CHECK(fits, what, " has shape ", shape_string(factor), " but must equal bottom 0's ",
                    "axes from axis ", a, " on (bottom 0 is ", shape_string(bottom),
                    "); fix its shape or ", field, ".axis");
  kernels::BroadcastArgs d{1, 1, 1};
  for (int i = 0; i < a; ++i) d.outer *= bottom[i];
  for (int i = a; i < a + k; ++i) d.dim *= bottom[i];
  for (int i = a + k; i < n; ++i) d.inner *= bottom[i];
  return d;
}

template <class T>
void BiasLayer<T>::layer_setup(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  const BiasParameter& p = this->layer_param().bias_param();
  this->blobs_.clear();
  if (bottom.size() == 1) {
    this->blobs_.push_back(std::make_shared<Tensor<T>>(
        broadcast_param_shape(bottom[0]->shape(), p.axis(), p.num_axes(), "bias_param")));
    // Caffe's default bias filler is the constant 0 (FillerParameter's default).
    this->fill_blob(ctx, p.filler(), 0);
  }
}

template <class T>
void BiasLayer<T>::reshape(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  const Tensor<T>& b = bottom.size() > 1 ? *bottom[1] : *this->blobs_[0];
  dims_ = broadcast_dims(bottom[0]->shape(), b.shape(), this->layer_param().bias_param().axis(),
                         bottom.size() > 1 ? "bottom 1 (the bias)" : "the bias blob", "bias_param");
  if (top[0] != bottom[0]) top[0]->reshape_like(*bottom[0]);
}

template <class T>
void BiasLayer<T>::forward_cpu(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  const T* b = (bottom.size() > 1 ? bottom[1] : this->blobs_[0].get())->cpu_data();
  const T* x = bottom[0]->cpu_data();
  T* y = top[0]->mutable_cpu_data();
  const kernels::BroadcastArgs d = dims_;
  parallel_for(ctx, d.outer * d.dim, [&](int64_t i) { kernels::bias_forward(i, d, x, b, y); });
}

template <class T>
void BiasLayer<T>::backward_cpu(Context& ctx, const TensorVec<T>& top,
                                const std::vector<bool>& propagate_down,
                                const TensorVec<T>& bottom) {
  const kernels::BroadcastArgs d = dims_;
  const T* dy = top[0]->cpu_diff();
  const bool learned = bottom.size() == 1;
  if (learned ? this->param_propagate_down(0) : propagate_down[1]) {
    // A learned bias accumulates its diff; a bias bottom gets it written.
    T* db = (learned ? this->blobs_[0].get() : bottom[1])->mutable_cpu_diff();
    parallel_for(ctx, d.dim,
                 [&](int64_t k) { kernels::bias_param_backward(k, d, dy, db, learned); });
  }
  // In place, the input gradient is the output gradient already.
  if (propagate_down[0] && top[0] != bottom[0]) {
    const int64_t n = top[0]->count();
    std::copy(dy, dy + n, bottom[0]->mutable_cpu_diff());
  }
}

#if CREMA_WITH_CUDA
template <class T>
void BiasLayer<T>::forward_gpu(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  const T* b = (bottom.size() > 1 ? bottom[1] : this->blobs_[0].get())->gpu_data(ctx);
  cuda::launch_bias_forward_element<T>(ctx.cuda_stream(), bottom[0]->count(), dims_,
                                       bottom[0]->gpu_data(ctx), b, top[0]->mutable_gpu_data(ctx));
}

template <class T>
void BiasLayer<T>::backward_gpu(Context& ctx, const TensorVec<T>& top,
                                const std::vector<bool>& propagate_down,
                                const TensorVec<T>& bottom) {
  const T* dy = top[0]->gpu_diff(ctx);
  const bool learned = bottom.size() == 1;
  if (learned ? this->param_propagate_down(0) : propagate_down[1]) {
    // As backward_cpu: a learned bias accumulates its diff; a bias bottom gets it written.
    T* db = (learned ? this->blobs_[0].get() : bottom[1])->mutable_gpu_diff(ctx);
    cuda::launch_bias_param_backward<T>(ctx.cuda_stream(), dims_.dim, dims_, dy, db, learned);
  }
  if (propagate_down[0] && top[0] != bottom[0])
    cuda::copy(ctx, top[0]->count(), dy, bottom[0]->mutable_gpu_diff(ctx));
}
#endif

CREMA_INSTANTIATE_CLASS(BiasLayer);

}  // namespace crema
