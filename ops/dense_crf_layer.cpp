#include "ops/dense_crf_layer.h"

#include <algorithm>
#include <limits>

#include "core/blas.h"
#include "core/parallel.h"
#include "cuda_kernels/softmax.h"

namespace crema {
namespace {

// Largest image the exact dense filter accepts: its kernel matrices take (H*W)^2 values.
constexpr int64_t kMaxExactPixels = 4096;

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
  if (height_ != spatial_height_ || width_ != spatial_width_) build_spatial(ctx);
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

template <class T>
void DenseCRFLayer<T>::build_spatial(Context& ctx) {
  const std::vector<double> f = features(ctx, static_cast<const T*>(nullptr), 2);
  if (exact_) {
    kernels::DenseCrfFeatureArgs a;
    a.pixels = pixels_;
    a.dim = 2;
    spatial_kernel_.resize(static_cast<size_t>(pixels_ * pixels_));
    T* k = spatial_kernel_.data();
    const double* fp = f.data();
    parallel_for(ctx, pixels_ * pixels_, [&](int64_t i) { kernels::dense_crf_gauss(i, a, fp, k); });
  } else {
    spatial_lattice_.build(ctx, f.data(), pixels_, 2);
  }
  spatial_norm_.resize(static_cast<size_t>(pixels_));
  compute_norm(ctx, false, 0, spatial_norm_.data());
  spatial_height_ = height_;
  spatial_width_ = width_;
}

template <class T>
void DenseCRFLayer<T>::build_bilateral(Context& ctx, const T* image) {
  bilateral_norm_.resize(static_cast<size_t>(num_ * pixels_));
  if (exact_) {
    bilateral_kernel_.resize(static_cast<size_t>(num_ * pixels_ * pixels_));
    bilateral_lattices_.clear();
  } else {
    bilateral_lattices_.resize(static_cast<size_t>(num_));
  }
  for (int64_t n = 0; n < num_; ++n) {
    const std::vector<double> f = features(ctx, image + n * 3 * pixels_, 5);
    if (exact_) {
      kernels::DenseCrfFeatureArgs a;
      a.pixels = pixels_;
      a.dim = 5;
      T* k = bilateral_kernel_.data() + n * pixels_ * pixels_;
      const double* fp = f.data();
      parallel_for(ctx, pixels_ * pixels_,
                   [&](int64_t i) { kernels::dense_crf_gauss(i, a, fp, k); });
    } else {
      bilateral_lattices_[n].build(ctx, f.data(), pixels_, 5);
    }
    compute_norm(ctx, true, n, bilateral_norm_.data() + n * pixels_);
  }
}

template <class T>
void DenseCRFLayer<T>::compute_norm(Context& ctx, bool bilateral, int64_t n, T* norm) {
  const std::vector<T> ones(static_cast<size_t>(pixels_), T(1));
  if (exact_) {
    const T* k =
        bilateral ? bilateral_kernel_.data() + n * pixels_ * pixels_ : spatial_kernel_.data();
    blas::gemv<T>(false, pixels_, pixels_, T(1), k, ones.data(), T(0), norm);
  } else {
    DenseCrfLattice<T>& lattice = bilateral ? bilateral_lattices_[n] : spatial_lattice_;
    lattice.filter(ctx, ones.data(), norm, 1, false);
  }
  // CRF-as-RNN's 1e-20 guard; a lattice sum is at least the pixel's own weight, far above it.
  for (int64_t p = 0; p < pixels_; ++p) norm[p] = T(1) / (norm[p] + T(1e-20));
}

template <class T>
void DenseCRFLayer<T>::filter(Context& ctx, bool bilateral, int64_t n, const T* in, T* out,
                              bool transpose) {
  const T* norm = bilateral ? bilateral_norm_.data() + n * pixels_ : spatial_norm_.data();
  if (!exact_) {
    DenseCrfLattice<T>& lattice = bilateral ? bilateral_lattices_[n] : spatial_lattice_;
    if (transpose)
      lattice.filter(ctx, in, out, labels_, true, norm, nullptr);
    else
      lattice.filter(ctx, in, out, labels_, false, nullptr, norm);
    return;
  }
  const T* k =
      bilateral ? bilateral_kernel_.data() + n * pixels_ * pixels_ : spatial_kernel_.data();
  kernels::DenseCrfFeatureArgs a;
  a.pixels = pixels_;
  const int64_t count = labels_ * pixels_;
  if (transpose) {
    // out = (n ⊙ in) K: the rows of in are per-label images.
    scaled_.resize(static_cast<size_t>(count));
    T* s = scaled_.data();
    parallel_for(ctx, count, [&](int64_t i) { kernels::dense_crf_scale(i, a, norm, in, s); });
    blas::gemm<T>(false, false, labels_, pixels_, pixels_, T(1), s, k, T(0), out);
  } else {
    // out = n ⊙ (in K^T).
    blas::gemm<T>(false, true, labels_, pixels_, pixels_, T(1), in, k, T(0), out);
    parallel_for(ctx, count, [&](int64_t i) { kernels::dense_crf_scale(i, a, norm, out, out); });
  }
}

template <class T>
int64_t DenseCRFLayer<T>::bilateral_vertices(int n) const {
  return n < static_cast<int>(bilateral_lattices_.size()) ? bilateral_lattices_[n].vertices() : 0;
}

template <class T>
void DenseCRFLayer<T>::forward_cpu(Context& ctx, const TensorVec<T>& bottom,
                                   const TensorVec<T>& top) {
  build_bilateral(ctx, bottom[1]->cpu_data());
  const int64_t lp = labels_ * pixels_, total = num_ * lp;
  q_.resize(static_cast<size_t>(iterations_ * total));
  s_.resize(q_.size());
  b_.resize(q_.size());
  m_.resize(q_.size());
  logits_.resize(static_cast<size_t>(total));
  const T* u = bottom[0]->cpu_data();
  const T* w_s = this->blobs_[0]->cpu_data();
  const T* w_b = this->blobs_[1]->cpu_data();
  const T* mu = this->blobs_[2]->cpu_data();
  kernels::SoftmaxArgs sa;
  sa.outer = num_;
  sa.channels = labels_;
  sa.inner = pixels_;
  const T* prev = bottom.size() == 3 ? bottom[2]->cpu_data() : u;
  for (int t = 0; t < iterations_; ++t) {
    T* q = q_.data() + t * total;
    parallel_for(ctx, num_ * pixels_, [&](int64_t i) { kernels::softmax_forward(i, sa, prev, q); });
    T* out = t + 1 == iterations_ ? top[0]->mutable_cpu_data() : logits_.data();
    for (int64_t n = 0; n < num_; ++n) {
      const int64_t off = t * total + n * lp;
      T* s = s_.data() + off;
      T* b = b_.data() + off;
      T* m = m_.data() + off;
      filter(ctx, false, n, q + n * lp, s, false);
      filter(ctx, true, n, q + n * lp, b, false);
      blas::gemm<T>(false, false, labels_, pixels_, labels_, T(1), w_s, s, T(0), m);
      blas::gemm<T>(false, false, labels_, pixels_, labels_, T(1), w_b, b, T(1), m);
      std::copy(u + n * lp, u + (n + 1) * lp, out + n * lp);
      blas::gemm<T>(false, false, labels_, pixels_, labels_, T(-1), mu, m, T(1), out + n * lp);
    }
    prev = out;
  }
}

template <class T>
void DenseCRFLayer<T>::backward_cpu(Context& ctx, const TensorVec<T>& top,
                                    const std::vector<bool>& propagate_down,
                                    const TensorVec<T>& bottom) {
  const int64_t lp = labels_ * pixels_, total = num_ * lp;
  const T* w_s = this->blobs_[0]->cpu_data();
  const T* w_b = this->blobs_[1]->cpu_data();
  const T* mu = this->blobs_[2]->cpu_data();
  T* dw_s = this->blobs_[0]->mutable_cpu_diff();
  T* dw_b = this->blobs_[1]->mutable_cpu_diff();
  T* dmu = this->blobs_[2]->mutable_cpu_diff();
  const bool pw_s = this->param_propagate_down(0), pw_b = this->param_propagate_down(1),
             pmu = this->param_propagate_down(2);
  // grad_ holds d logits_t, starting from the top diff; grad_u_ sums its contributions to U.
  grad_.assign(top[0]->cpu_diff(), top[0]->cpu_diff() + total);
  grad_u_.assign(static_cast<size_t>(total), T(0));
  dm_.resize(static_cast<size_t>(lp));
  ds_.resize(static_cast<size_t>(lp));
  db_.resize(static_cast<size_t>(lp));
  dq_.resize(static_cast<size_t>(total));
  dq2_.resize(static_cast<size_t>(lp));
  kernels::SoftmaxArgs sa;
  sa.outer = num_;
  sa.channels = labels_;
  sa.inner = pixels_;
  for (int t = iterations_ - 1; t >= 0; --t) {
    blas::axpy<T>(total, T(1), grad_.data(), grad_u_.data());
    for (int64_t n = 0; n < num_; ++n) {
      const int64_t off = t * total + n * lp;
      const T* g = grad_.data() + n * lp;  // d logits_t; dP = -g with P = mu M
      if (pmu)
        blas::gemm<T>(false, true, labels_, labels_, pixels_, T(-1), g, m_.data() + off, T(1), dmu);
      blas::gemm<T>(true, false, labels_, pixels_, labels_, T(-1), mu, g, T(0), dm_.data());
      if (pw_s)
        blas::gemm<T>(false, true, labels_, labels_, pixels_, T(1), dm_.data(), s_.data() + off,
                      T(1), dw_s);
      if (pw_b)
        blas::gemm<T>(false, true, labels_, labels_, pixels_, T(1), dm_.data(), b_.data() + off,
                      T(1), dw_b);
      blas::gemm<T>(true, false, labels_, pixels_, labels_, T(1), w_s, dm_.data(), T(0),
                    ds_.data());
      blas::gemm<T>(true, false, labels_, pixels_, labels_, T(1), w_b, dm_.data(), T(0),
                    db_.data());
      T* dq = dq_.data() + n * lp;
      filter(ctx, false, n, ds_.data(), dq, true);
      filter(ctx, true, n, db_.data(), dq2_.data(), true);
      blas::axpy<T>(lp, T(1), dq2_.data(), dq);
    }
    const T* q = q_.data() + t * total;
    T* gp = grad_.data();
    const T* dq = dq_.data();
    parallel_for(ctx, num_ * pixels_,
                 [&](int64_t i) { kernels::softmax_backward(i, sa, q, dq, gp); });
  }
  // grad_ now holds the gradient of the first softmax's input: Q0 when given, else U.
  const bool has_q0 = bottom.size() == 3;
  if (propagate_down[0]) {
    if (!has_q0) blas::axpy<T>(total, T(1), grad_.data(), grad_u_.data());
    std::copy(grad_u_.begin(), grad_u_.end(), bottom[0]->mutable_cpu_diff());
  }
  if (propagate_down[1]) bottom[1]->set_diff(T(0));  // the lattice is a constant of the image
  if (has_q0 && propagate_down[2])
    std::copy(grad_.begin(), grad_.end(), bottom[2]->mutable_cpu_diff());
}

CREMA_INSTANTIATE_CLASS(DenseCRFLayer);

}  // namespace crema
