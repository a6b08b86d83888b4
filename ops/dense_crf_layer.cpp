#include "ops/dense_crf_layer.h"

#include <algorithm>
#include <limits>

#include "core/parallel.h"
#include "ops/device_ops.h"

namespace crema {
namespace {

// Largest image the exact dense filter accepts: its kernel matrices take (H*W)^2 values.
constexpr int64_t kMaxExactPixels = 4096;

template <class T>
void resize(Tensor<T>& t, int64_t n) {
  if (t.count() != n) t.reshape({n});
}

}  // namespace

template <class T>
void DenseCRFLayer<T>::layer_setup(Context& ctx, const TensorVec<T>& bottom,
                                   const TensorVec<T>& top) {
  const DenseCRFParameter& p = this->layer_param().dense_crf_param();
  CREMA_LAYER_CHECK(p.num_iterations() >= 1, "dense_crf_param.num_iterations must be at least 1, ",
                    "got ", p.num_iterations());
  CREMA_LAYER_CHECK(p.theta_alpha() > 0 && p.theta_beta() > 0 && p.theta_gamma() > 0,
                    "dense_crf_param theta_alpha, theta_beta and theta_gamma must be positive ",
                    "(kernel bandwidths), got ", p.theta_alpha(), ", ", p.theta_beta(), ", ",
                    p.theta_gamma());
  iterations_ = static_cast<int>(p.num_iterations());
  theta_alpha_ = p.theta_alpha();
  theta_beta_ = p.theta_beta();
  theta_gamma_ = p.theta_gamma();
  exact_ = p.exact_filter();
  CREMA_SHAPE_CHECK(bottom[0]->num_axes() == 4, "bottom 0 (unary) must be 4-d (N, L, H, W), got ",
                    bottom[0]->shape_string());
  const int64_t labels = bottom[0]->shape(1);
  this->blobs_.clear();
  for (int k = 0; k < 3; ++k)
    this->blobs_.push_back(std::make_shared<Tensor<T>>(std::vector<int64_t>{1, 1, labels, labels}));
  for (int k = 0; k < 2; ++k) {
    T* w = this->blobs_[k]->mutable_cpu_data();
    std::fill(w, w + labels * labels, T(0));
    const T diag = static_cast<T>(k == 0 ? p.spatial_filter_weight() : p.bilateral_filter_weight());
    for (int64_t l = 0; l < labels; ++l) w[l * labels + l] = diag;
  }
  if (p.has_compatibility_filler()) {
    this->fill_blob(ctx, p.compatibility_filler(), 2);
  } else {
    T* mu = this->blobs_[2]->mutable_cpu_data();
    std::fill(mu, mu + labels * labels, T(0));
    for (int64_t l = 0; l < labels; ++l) mu[l * labels + l] = T(-1);
  }
}

template <class T>
void DenseCRFLayer<T>::reshape(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  const Tensor<T>& u = *bottom[0];
  const Tensor<T>& image = *bottom[1];
  CREMA_SHAPE_CHECK(u.num_axes() == 4, "bottom 0 (unary) must be 4-d (N, L, H, W), got ",
                    u.shape_string());
  CREMA_SHAPE_CHECK(image.num_axes() == 4 && image.shape(1) == 3,
                    "bottom 1 (image) must be 4-d with 3 colour channels (N, 3, H, W), got ",
                    image.shape_string());
  CREMA_SHAPE_CHECK(
      image.shape(0) == u.shape(0) && image.shape(2) == u.shape(2) && image.shape(3) == u.shape(3),
      "bottom 1 (image) ", image.shape_string(), " must match the unary ", u.shape_string(),
      " in N, H and W; resize the image to the score map");
  if (bottom.size() == 3)
    CREMA_SHAPE_CHECK(bottom[2]->shape() == u.shape(), "bottom 2 (initial logits) ",
                      bottom[2]->shape_string(), " must have the unary's shape ", u.shape_string());
  num_ = u.shape(0);
  labels_ = u.shape(1);
  height_ = u.shape(2);
  width_ = u.shape(3);
  pixels_ = height_ * width_;
  CREMA_SHAPE_CHECK(num_ > 0 && labels_ > 0 && pixels_ > 0, "bottom 0 (unary) must not be empty, ",
                    "got ", u.shape_string());
  for (int k = 0; k < 3; ++k)
    CREMA_SHAPE_CHECK(this->blobs_[k]->count() == labels_ * labels_, "parameter blob ", k,
                      " holds ", this->blobs_[k]->shape_string(), " but the unary has ", labels_,
                      " labels (needs 1x1x", labels_, "x", labels_,
                      "); the label count changed after setup or the loaded weights do not fit");
  CREMA_SHAPE_CHECK(pixels_ * (kernels::kDenseCrfMaxDim + 1) < std::numeric_limits<int32_t>::max(),
                    "the image of ", height_, "x", width_, " pixels is too large for the lattice");
  if (exact_)
    CREMA_LAYER_CHECK(pixels_ <= kMaxExactPixels, "dense_crf_param.exact_filter builds dense ",
                      "(H*W)^2 kernels and accepts at most ", kMaxExactPixels, " pixels, got ",
                      height_, "x", width_, "; turn exact_filter off for real images");
  top[0]->reshape(u.shape());
  if (height_ != spatial_height_ || width_ != spatial_width_ || ctx.device != spatial_device_)
    build_spatial(ctx);
}

template <class T>
std::vector<double> DenseCRFLayer<T>::features(Context& ctx, const T* image, int dim) const {
  kernels::DenseCrfFeatureArgs a;
  a.pixels = pixels_;
  a.width = width_;
  a.dim = dim;
  a.inv_theta_xy = 1.0 / (dim == 2 ? theta_gamma_ : theta_alpha_);
  a.inv_theta_rgb = 1.0 / theta_beta_;
  std::vector<double> f(static_cast<size_t>(pixels_ * dim));
  double* fp = f.data();
  parallel_for(ctx, pixels_, [&](int64_t p) { kernels::dense_crf_features(p, a, image, fp); });
  return f;
}

// The launcher calls below are T-dependent, so a CPU-only build never instantiates them.
template <class T>
void DenseCRFLayer<T>::gauss(Context& ctx, int dim, const std::vector<double>& f, T* kernel) {
  kernels::DenseCrfFeatureArgs a;
  a.pixels = pixels_;
  a.dim = dim;
  if constexpr (CREMA_WITH_CUDA != 0) {
    if (ctx.on_gpu()) {
      const double* fd = features_d_.upload(ctx, f.data(), static_cast<int64_t>(f.size()));
      return cuda::launch_dense_crf_gauss<T>(ctx.cuda_stream(), pixels_ * pixels_, a, fd, kernel);
    }
  }
  const double* fp = f.data();
  parallel_for(ctx, pixels_ * pixels_,
               [&](int64_t i) { kernels::dense_crf_gauss(i, a, fp, kernel); });
}

template <class T>
void DenseCRFLayer<T>::inverse(Context& ctx, T* norm) {
  if constexpr (CREMA_WITH_CUDA != 0) {
    if (ctx.on_gpu()) return cuda::launch_dense_crf_inverse<T>(ctx.cuda_stream(), pixels_, norm);
  }
  parallel_for(ctx, pixels_, [&](int64_t i) { kernels::dense_crf_inverse(i, norm); });
}

template <class T>
void DenseCRFLayer<T>::scale(Context& ctx, const T* norm, const T* in, T* out) {
  kernels::DenseCrfFeatureArgs a;
  a.pixels = pixels_;
  const int64_t count = labels_ * pixels_;
  if constexpr (CREMA_WITH_CUDA != 0) {
    if (ctx.on_gpu())
      return cuda::launch_dense_crf_scale<T>(ctx.cuda_stream(), count, a, norm, in, out);
  }
  parallel_for(ctx, count, [&](int64_t i) { kernels::dense_crf_scale(i, a, norm, in, out); });
}

template <class T>
kernels::SoftmaxArgs DenseCRFLayer<T>::softmax_args() const {
  kernels::SoftmaxArgs sa;
  sa.outer = num_;
  sa.channels = labels_;
  sa.inner = pixels_;
  return sa;
}

template <class T>
void DenseCRFLayer<T>::softmax_forward(Context& ctx, const T* x, T* q) {
  const kernels::SoftmaxArgs sa = softmax_args();
  if constexpr (CREMA_WITH_CUDA != 0) {
    if (ctx.on_gpu())
      return cuda::launch_softmax_forward<T>(ctx.cuda_stream(), num_ * pixels_, sa, x, q);
  }
  parallel_for(ctx, num_ * pixels_, [&](int64_t i) { kernels::softmax_forward(i, sa, x, q); });
}

template <class T>
void DenseCRFLayer<T>::softmax_backward(Context& ctx, const T* q, const T* dq, T* dx) {
  const kernels::SoftmaxArgs sa = softmax_args();
  if constexpr (CREMA_WITH_CUDA != 0) {
    if (ctx.on_gpu())
      return cuda::launch_softmax_backward<T>(ctx.cuda_stream(), num_ * pixels_, sa, q, dq, dx);
  }
  parallel_for(ctx, num_ * pixels_,
               [&](int64_t i) { kernels::softmax_backward(i, sa, q, dq, dx); });
}

template <class T>
void DenseCRFLayer<T>::build_spatial(Context& ctx) {
  const std::vector<double> f = features(ctx, static_cast<const T*>(nullptr), 2);
  if (exact_) {
    resize(spatial_kernel_, pixels_ * pixels_);
    gauss(ctx, 2, f, DeviceOps<T>(ctx).mutable_data(spatial_kernel_));
  } else {
    spatial_lattice_.build(ctx, f.data(), pixels_, 2);
  }
  resize(spatial_norm_, pixels_);
  compute_norm(ctx, false, 0, DeviceOps<T>(ctx).mutable_data(spatial_norm_));
  spatial_height_ = height_;
  spatial_width_ = width_;
  spatial_device_ = ctx.device;
}

template <class T>
void DenseCRFLayer<T>::build_bilateral(Context& ctx, const T* image) {
  const DeviceOps<T> dev(ctx);
  resize(bilateral_norm_, num_ * pixels_);
  if (exact_) {
    resize(bilateral_kernel_, num_ * pixels_ * pixels_);
    bilateral_lattices_.clear();
  } else {
    bilateral_lattices_.resize(static_cast<size_t>(num_));
  }
  for (int64_t n = 0; n < num_; ++n) {
    const std::vector<double> f = features(ctx, image + n * 3 * pixels_, 5);
    if (exact_)
      gauss(ctx, 5, f, dev.mutable_data(bilateral_kernel_) + n * pixels_ * pixels_);
    else
      bilateral_lattices_[n].build(ctx, f.data(), pixels_, 5);
    compute_norm(ctx, true, n, dev.mutable_data(bilateral_norm_) + n * pixels_);
  }
}

template <class T>
void DenseCRFLayer<T>::compute_norm(Context& ctx, bool bilateral, int64_t n, T* norm) {
  const DeviceOps<T> dev(ctx);
  if (ones_.count() != pixels_) {
    ones_.reshape({pixels_});
    ones_.set_data(T(1));
  }
  const T* ones = dev.data(ones_);
  if (exact_) {
    const T* k =
        bilateral ? dev.data(bilateral_kernel_) + n * pixels_ * pixels_ : dev.data(spatial_kernel_);
    dev.gemv(false, pixels_, pixels_, T(1), k, ones, T(0), norm);
  } else {
    DenseCrfLattice<T>& lattice = bilateral ? bilateral_lattices_[n] : spatial_lattice_;
    lattice.filter(ctx, ones, norm, 1, false);
  }
  inverse(ctx, norm);
}

template <class T>
void DenseCRFLayer<T>::filter(Context& ctx, bool bilateral, int64_t n, const T* in, T* out,
                              bool transpose) {
  const DeviceOps<T> dev(ctx);
  const T* norm = bilateral ? dev.data(bilateral_norm_) + n * pixels_ : dev.data(spatial_norm_);
  if (!exact_) {
    DenseCrfLattice<T>& lattice = bilateral ? bilateral_lattices_[n] : spatial_lattice_;
    if (transpose)
      lattice.filter(ctx, in, out, labels_, true, norm, nullptr);
    else
      lattice.filter(ctx, in, out, labels_, false, nullptr, norm);
    return;
  }
  const T* k =
      bilateral ? dev.data(bilateral_kernel_) + n * pixels_ * pixels_ : dev.data(spatial_kernel_);
  if (transpose) {
    // out = (n ⊙ in) K: the rows of in are per-label images.
    resize(scaled_, labels_ * pixels_);
    T* s = dev.mutable_data(scaled_);
    scale(ctx, norm, in, s);
    dev.gemm(false, false, labels_, pixels_, pixels_, T(1), s, k, T(0), out);
  } else {
    // out = n ⊙ (in K^T).
    dev.gemm(false, true, labels_, pixels_, pixels_, T(1), in, k, T(0), out);
    scale(ctx, norm, out, out);
  }
}

template <class T>
int64_t DenseCRFLayer<T>::bilateral_vertices(int n) const {
  return n < static_cast<int>(bilateral_lattices_.size()) ? bilateral_lattices_[n].vertices() : 0;
}

template <class T>
void DenseCRFLayer<T>::run_forward(Context& ctx, const TensorVec<T>& bottom,
                                   const TensorVec<T>& top) {
  // The lattices are hash tables of data-dependent size: built on the host from the image.
  build_bilateral(ctx, bottom[1]->cpu_data());
  const DeviceOps<T> dev(ctx);
  const int64_t lp = labels_ * pixels_, total = num_ * lp;
  for (Tensor<T>* t : {&q_, &s_, &b_, &m_}) resize(*t, iterations_ * total);
  resize(logits_, total);
  const T* u = dev.data(*bottom[0]);
  const T* w_s = dev.data(*this->blobs_[0]);
  const T* w_b = dev.data(*this->blobs_[1]);
  const T* mu = dev.data(*this->blobs_[2]);
  T* q_all = dev.mutable_data(q_);
  T* s_all = dev.mutable_data(s_);
  T* b_all = dev.mutable_data(b_);
  T* m_all = dev.mutable_data(m_);
  const T* prev = bottom.size() == 3 ? dev.data(*bottom[2]) : u;
  for (int t = 0; t < iterations_; ++t) {
    T* q = q_all + t * total;
    softmax_forward(ctx, prev, q);
    T* out = t + 1 == iterations_ ? dev.mutable_data(*top[0]) : dev.mutable_data(logits_);
    for (int64_t n = 0; n < num_; ++n) {
      const int64_t off = t * total + n * lp;
      T* s = s_all + off;
      T* b = b_all + off;
      T* m = m_all + off;
      filter(ctx, false, n, q + n * lp, s, false);
      filter(ctx, true, n, q + n * lp, b, false);
      dev.gemm(false, false, labels_, pixels_, labels_, T(1), w_s, s, T(0), m);
      dev.gemm(false, false, labels_, pixels_, labels_, T(1), w_b, b, T(1), m);
      dev.copy(lp, u + n * lp, out + n * lp);
      dev.gemm(false, false, labels_, pixels_, labels_, T(-1), mu, m, T(1), out + n * lp);
    }
    prev = out;
  }
}

template <class T>
void DenseCRFLayer<T>::run_backward(Context& ctx, const TensorVec<T>& top,
                                    const std::vector<bool>& propagate_down,
                                    const TensorVec<T>& bottom) {
  const DeviceOps<T> dev(ctx);
  const int64_t lp = labels_ * pixels_, total = num_ * lp;
  const T* w_s = dev.data(*this->blobs_[0]);
  const T* w_b = dev.data(*this->blobs_[1]);
  const T* mu = dev.data(*this->blobs_[2]);
  T* dw_s = dev.mutable_diff(*this->blobs_[0]);
  T* dw_b = dev.mutable_diff(*this->blobs_[1]);
  T* dmu = dev.mutable_diff(*this->blobs_[2]);
  const bool pw_s = this->param_propagate_down(0), pw_b = this->param_propagate_down(1),
             pmu = this->param_propagate_down(2);
  for (Tensor<T>* t : {&grad_, &grad_u_, &dq_}) resize(*t, total);
  for (Tensor<T>* t : {&dm_, &ds_, &db_, &dq2_}) resize(*t, lp);
  // grad holds d logits_t, starting from the top diff; grad_u sums its contributions to U.
  T* grad = dev.mutable_data(grad_);
  T* grad_u = dev.mutable_data(grad_u_);
  T* dm = dev.mutable_data(dm_);
  T* ds = dev.mutable_data(ds_);
  T* db = dev.mutable_data(db_);
  T* dq_all = dev.mutable_data(dq_);
  T* dq2 = dev.mutable_data(dq2_);
  const T* q_all = dev.data(q_);
  const T* s_all = dev.data(s_);
  const T* b_all = dev.data(b_);
  const T* m_all = dev.data(m_);
  dev.copy(total, dev.diff(*top[0]), grad);
  dev.zero(total, grad_u);
  for (int t = iterations_ - 1; t >= 0; --t) {
    dev.axpy(total, T(1), grad, grad_u);
    for (int64_t n = 0; n < num_; ++n) {
      const int64_t off = t * total + n * lp;
      const T* g = grad + n * lp;  // d logits_t; dP = -g with P = mu M
      if (pmu) dev.gemm(false, true, labels_, labels_, pixels_, T(-1), g, m_all + off, T(1), dmu);
      dev.gemm(true, false, labels_, pixels_, labels_, T(-1), mu, g, T(0), dm);
      if (pw_s) dev.gemm(false, true, labels_, labels_, pixels_, T(1), dm, s_all + off, T(1), dw_s);
      if (pw_b) dev.gemm(false, true, labels_, labels_, pixels_, T(1), dm, b_all + off, T(1), dw_b);
      dev.gemm(true, false, labels_, pixels_, labels_, T(1), w_s, dm, T(0), ds);
      dev.gemm(true, false, labels_, pixels_, labels_, T(1), w_b, dm, T(0), db);
      T* dq = dq_all + n * lp;
      filter(ctx, false, n, ds, dq, true);
      filter(ctx, true, n, db, dq2, true);
      dev.axpy(lp, T(1), dq2, dq);
    }
    softmax_backward(ctx, q_all + t * total, dq_all, grad);
  }
  // grad now holds the gradient of the first softmax's input: Q0 when given, else U.
  const bool has_q0 = bottom.size() == 3;
  if (propagate_down[0]) {
    if (!has_q0) dev.axpy(total, T(1), grad, grad_u);
    dev.copy(total, grad_u, dev.mutable_diff(*bottom[0]));
  }
  // The lattice is a constant of the image.
  if (propagate_down[1]) dev.zero(bottom[1]->count(), dev.mutable_diff(*bottom[1]));
  if (has_q0 && propagate_down[2]) dev.copy(total, grad, dev.mutable_diff(*bottom[2]));
}

template <class T>
void DenseCRFLayer<T>::forward_cpu(Context& ctx, const TensorVec<T>& bottom,
                                   const TensorVec<T>& top) {
  run_forward(ctx, bottom, top);
}

template <class T>
void DenseCRFLayer<T>::backward_cpu(Context& ctx, const TensorVec<T>& top,
                                    const std::vector<bool>& propagate_down,
                                    const TensorVec<T>& bottom) {
  run_backward(ctx, top, propagate_down, bottom);
}

#if CREMA_WITH_CUDA
template <class T>
void DenseCRFLayer<T>::forward_gpu(Context& ctx, const TensorVec<T>& bottom,
                                   const TensorVec<T>& top) {
  run_forward(ctx, bottom, top);
}

template <class T>
void DenseCRFLayer<T>::backward_gpu(Context& ctx, const TensorVec<T>& top,
                                    const std::vector<bool>& propagate_down,
                                    const TensorVec<T>& bottom) {
  run_backward(ctx, top, propagate_down, bottom);
}
#endif

CREMA_INSTANTIATE_CLASS(DenseCRFLayer);

}  // namespace crema
