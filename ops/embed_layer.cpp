#include "ops/embed_layer.h"

#include <iomanip>
#include <limits>
#include <memory>
#include <sstream>

#include "core/parallel.h"

namespace crema {

template <class T>
void EmbedLayer<T>::layer_setup(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  const EmbedParameter& p = this->layer_param().embed_param();
  CREMA_LAYER_CHECK(p.num_output() > 0, "embed_param.num_output must be > 0, got ", p.num_output(),
                    "; set embed_param { num_output: ... }");
  CREMA_LAYER_CHECK(p.input_dim() > 0, "embed_param.input_dim must be > 0, got ", p.input_dim(),
                    "; set it to the number of distinct indices (the largest index + 1)");
  args_.n = p.num_output();
  args_.k = p.input_dim();
  args_.bias_term = p.bias_term();
  this->blobs_.clear();
  this->blobs_.push_back(std::make_shared<Tensor<T>>(std::vector<int64_t>{args_.k, args_.n}));
  this->fill_blob(ctx, p.weight_filler(), 0);
  if (args_.bias_term) {
    this->blobs_.push_back(std::make_shared<Tensor<T>>(std::vector<int64_t>{args_.n}));
    this->fill_blob(ctx, p.bias_filler(), 1);
  }
}

template <class T>
void EmbedLayer<T>::reshape(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  CREMA_LAYER_CHECK(top[0] != bottom[0], "cannot run in place; give the top its own name");
  args_.m = bottom[0]->count();
  std::vector<int64_t> shape = bottom[0]->shape();
  shape.push_back(args_.n);
  top[0]->reshape(shape);
}

template <class T>
void EmbedLayer<T>::check_indices(const Tensor<T>& index) const {
  const T* v = index.cpu_data();
  const kernels::EmbedArgs a = args_;
  for (int64_t p = 0; p < a.m; ++p) {
    if (kernels::embed_row(v[p], a) >= 0) continue;
    std::ostringstream value;
    value << std::setprecision(std::numeric_limits<T>::max_digits10) << v[p];
    throw DataError(str_cat("index ", value.str(), " at position ", p, " of bottom 0 (shape ",
                            index.shape_string(), ") is not an integer in [0, ", a.k,
                            "); Embed inputs are indices into the input_dim ", a.k,
                            " rows of its table"));
  }
}

template <class T>
void EmbedLayer<T>::check_propagate_down(const std::vector<bool>& propagate_down) const {
  CREMA_LAYER_CHECK(!propagate_down[0],
                    "cannot backpropagate to the indices (bottom 0); set propagate_down: false");
}

template <class T>
void EmbedLayer<T>::forward_cpu(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  check_indices(*bottom[0]);
  const T* index = bottom[0]->cpu_data();
  const kernels::EmbedArgs a = args_;
  const T* w = this->blobs_[0]->cpu_data();
  const T* b = a.bias_term ? this->blobs_[1]->cpu_data() : nullptr;
  T* y = top[0]->mutable_cpu_data();
  parallel_for(ctx, a.m * a.n, [&](int64_t i) { kernels::embed_forward(i, a, index, w, b, y); });
}

template <class T>
void EmbedLayer<T>::backward_cpu(Context& ctx, const TensorVec<T>& top,
                                 const std::vector<bool>& propagate_down,
                                 const TensorVec<T>& bottom) {
  check_propagate_down(propagate_down);
  const T* index = bottom[0]->cpu_data();
  const T* dy = top[0]->cpu_diff();
  const kernels::EmbedArgs a = args_;
  if (this->param_propagate_down(0)) {
    T* dw = this->blobs_[0]->mutable_cpu_diff();
    parallel_for(ctx, a.n, [&](int64_t d) { kernels::embed_backward_weight(d, a, index, dy, dw); });
  }
  if (a.bias_term && this->param_propagate_down(1)) {
    T* db = this->blobs_[1]->mutable_cpu_diff();
    parallel_for(ctx, a.n, [&](int64_t d) { kernels::embed_backward_bias(d, a, dy, db); });
  }
}

#if CREMA_WITH_CUDA
template <class T>
void EmbedLayer<T>::forward_gpu(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  // On the host: the error names the first bad position and its value, so the m indices come
  // back (one copy); the device copy stays current, so the launch below reads it without a copy.
  check_indices(*bottom[0]);
  const kernels::EmbedArgs& a = args_;
  cuda::launch_embed_forward<T>(
      ctx.cuda_stream(), a.m * a.n, a, bottom[0]->gpu_data(ctx), this->blobs_[0]->gpu_data(ctx),
      a.bias_term ? this->blobs_[1]->gpu_data(ctx) : nullptr, top[0]->mutable_gpu_data(ctx));
}

template <class T>
void EmbedLayer<T>::backward_gpu(Context& ctx, const TensorVec<T>& top,
                                 const std::vector<bool>& propagate_down,
                                 const TensorVec<T>& bottom) {
  check_propagate_down(propagate_down);
  const kernels::EmbedArgs& a = args_;
  if (this->param_propagate_down(0)) {
    cuda::launch_embed_backward_weight<T>(ctx.cuda_stream(), a.n, a, bottom[0]->gpu_data(ctx),
                                          top[0]->gpu_diff(ctx),
                                          this->blobs_[0]->mutable_gpu_diff(ctx));
  }
  if (a.bias_term && this->param_propagate_down(1)) {
    cuda::launch_embed_backward_bias<T>(ctx.cuda_stream(), a.n, a, top[0]->gpu_diff(ctx),
                                        this->blobs_[1]->mutable_gpu_diff(ctx));
  }
}
#endif

CREMA_INSTANTIATE_CLASS(EmbedLayer);

}  // namespace crema
