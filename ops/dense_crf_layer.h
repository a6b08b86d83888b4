/// DenseCRFLayer<T>: mean-field inference in a fully connected CRF with Gaussian pairwise
/// kernels, unrolled as a recurrent layer (CRF-as-RNN, Zheng et al. ICCV 2015).
#pragma once

#include <memory>
#include <vector>

#include "core/layer.h"
#include "cuda_kernels/dense_crf.h"
#include "cuda_kernels/softmax.h"
#include "ops/dense_crf_lattice.h"
#include "ops/gpu_scratch.h"

namespace crema {

/// Bottoms: [0] unary logits U (N, L, H, W); [1] image (N, 3, H, W), in the units theta_beta is
/// given in; optional [2] initial logits Q0 (N, L, H, W) (CRF-as-RNN's second bottom, usually a
/// copy of U; without it the first iteration starts from U). The image comes second in every
/// form so its position never changes. Top: the logits after num_iterations iterations.
/// Blobs (each 1 x 1 x L x L, as in CRF-as-RNN so its weights load): [0] spatial kernel weights
/// W_s (initial diagonal spatial_filter_weight), [1] bilateral kernel weights W_b (diagonal
/// bilateral_filter_weight), [2] compatibility mu (compatibility_filler, default Potts -I).
///
/// Iteration t (logits_0 = Q0 or U):
///   Q = softmax_L(logits_{t-1}),  S = n_s ⊙ K_s Q,  B = n_b ⊙ K_b Q,
///   M = W_s S + W_b B,  logits_t = U - mu M,
/// with K_s / K_b the Gaussian filters over features (x, y) / theta_gamma and
/// ((x, y) / theta_alpha, rgb / theta_beta) (self weight included), n = 1 / (K 1 + 1e-20).
/// K is the permutohedral-lattice filter (one spatial lattice per image size, one bilateral
/// lattice per image and forward), or with exact_filter the dense Gaussian (tiny images only).
/// num_iterations >= 1 (CRF-as-RNN's layer demands > 1; one iteration is allowed here).
/// Backward runs the iterations in reverse with the stored Q, S, B, M; the parameters
/// accumulate over iterations; the lattice is constant (no gradient reaches the image).
template <class T>
class DenseCRFLayer : public Layer<T> {
 public:
  using Layer<T>::Layer;

  const char* type() const override { return "DenseCRF"; }
  int min_num_bottom() const override { return 2; }
  int max_num_bottom() const override { return 3; }
  int exact_num_top() const override { return 1; }
  bool allow_force_backward(int bottom_index) const override { return bottom_index != 1; }

  void layer_setup(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) override;
  void reshape(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) override;
  bool has_gpu_path() const override { return CREMA_WITH_CUDA != 0; }

  /// Bilateral lattice vertices of image n after the last forward (0 with exact_filter).
  int64_t bilateral_vertices(int n) const;

 protected:
  void forward_cpu(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) override;
  void backward_cpu(Context& ctx, const TensorVec<T>& top, const std::vector<bool>& propagate_down,
                    const TensorVec<T>& bottom) override;
#if CREMA_WITH_CUDA
  void forward_gpu(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) override;
  void backward_gpu(Context& ctx, const TensorVec<T>& top, const std::vector<bool>& propagate_down,
                    const TensorVec<T>& bottom) override;
#endif

 private:
  // One pass for both devices (DeviceOps picks pointers and BLAS; the bodies run through
  // parallel_for or their launchers). The lattices are built on the host either way.
  void run_forward(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top);
  void run_backward(Context& ctx, const TensorVec<T>& top, const std::vector<bool>& propagate_down,
                    const TensorVec<T>& bottom);
  kernels::SoftmaxArgs softmax_args() const;
  /// Runs a body over n work items on ctx's device: exact kernel (dense_crf_gauss), normaliser
  /// (dense_crf_inverse), per-pixel scale (dense_crf_scale), softmax and its backward.
  void gauss(Context& ctx, int dim, const std::vector<double>& f, T* kernel);
  void inverse(Context& ctx, T* norm);
  void scale(Context& ctx, const T* norm, const T* in, T* out);
  void softmax_forward(Context& ctx, const T* x, T* q);
  void softmax_backward(Context& ctx, const T* q, const T* dq, T* dx);
  /// out (L x P) = n ⊙ K in for image n's spatial (bilateral = false) or bilateral kernel;
  /// transpose gives K^T (n ⊙ in).
  void filter(Context& ctx, bool bilateral, int64_t n, const T* in, T* out, bool transpose);
  void build_spatial(Context& ctx);
  void build_bilateral(Context& ctx, const T* image);
  /// Per-pixel 1 / (K 1 + 1e-20) of one kernel.
  void compute_norm(Context& ctx, bool bilateral, int64_t n, T* norm);
  std::vector<double> features(Context& ctx, const T* image, int dim) const;

  int iterations_ = 0;
  double theta_alpha_ = 0, theta_beta_ = 0, theta_gamma_ = 0;
  bool exact_ = false;
  int64_t num_ = 0, labels_ = 0, height_ = 0, width_ = 0, pixels_ = 0;
  int64_t spatial_height_ = -1, spatial_width_ = -1;  // shape the spatial kernel was built for

  int spatial_device_ = -2;  // device the spatial kernel was built on
  DenseCrfLattice<T> spatial_lattice_;
  std::vector<DenseCrfLattice<T>> bilateral_lattices_;
  Tensor<T> spatial_kernel_, bilateral_kernel_;  // exact_filter: P x P (per image)
  Tensor<T> spatial_norm_, bilateral_norm_;      // P, N x P
  Tensor<T> ones_;                               // P ones (the normalisers' input)
  Tensor<T> scaled_;                             // exact_filter: L x P scratch
  cuda::DeviceScratch<double> features_d_;       // exact_filter on a GPU: the features

  // Per iteration t, image-major (t, N, L, P): softmax Q, normalised filter outputs S and B,
  // and M = W_s S + W_b B, kept for backward.
  Tensor<T> q_, s_, b_, m_;
  Tensor<T> logits_;                                   // intermediate iterations' logits (N, L, P)
  Tensor<T> grad_, grad_u_, dm_, ds_, db_, dq_, dq2_;  // backward scratch
};

}  // namespace crema
