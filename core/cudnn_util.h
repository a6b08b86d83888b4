/// cuDNN and cuBLAS helpers for the GPU paths of the standard layers (DESIGN §2: "standard ops:
/// cuDNN and cuBLAS on the GPU"): status checks, RAII descriptors, the convolution algorithm
/// cache and row-major cuBLAS GEMM. Everything here exists only in CUDA builds; the header pulls
/// in no CUDA header when CREMA_WITH_CUDA is 0.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/context.h"
#include "core/error.h"

#if CREMA_WITH_CUDA
#include <cublas_v2.h>
#include <cudnn.h>

#include <map>
#include <type_traits>
#include <vector>

namespace crema::cudnn {

/// Throws DeviceError "<call> failed: <cudnnGetErrorString>" unless `status` is success.
void check(cudnnStatus_t status, const char* call);
/// Throws DeviceError "<call> failed: <cuBLAS status name>" unless `status` is success.
void check_cublas(cublasStatus_t status, const char* call);

/// `value` as the int cuDNN and cuBLAS take; DeviceError naming `what` when it does not fit.
int to_int(int64_t value, const char* what);

/// The handles of a GPU Context (bound to its stream).
inline cudnnHandle_t handle(const Context& ctx) {
  return static_cast<cudnnHandle_t>(ctx.cuda->cudnn());
}
inline cublasHandle_t cublas(const Context& ctx) {
  return static_cast<cublasHandle_t>(ctx.cuda->cublas());
}

/// cuDNN's data type for T (float or double).
template <class T>
constexpr cudnnDataType_t data_type() {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>, "float or double only");
  return std::is_same_v<T, float> ? CUDNN_DATA_FLOAT : CUDNN_DATA_DOUBLE;
}

/// Scaling factors (alpha, beta) as cuDNN reads them: of T's type for float and double data.
template <class T>
inline constexpr T kOne = T(1);
template <class T>
inline constexpr T kZero = T(0);

/// A tensor descriptor, created on first set (so CPU-only runs never touch cuDNN).
class TensorDesc {
 public:
  TensorDesc() = default;
  ~TensorDesc();
  TensorDesc(const TensorDesc&) = delete;
  TensorDesc& operator=(const TensorDesc&) = delete;

  /// Packed NCHW.
  template <class T>
  void set_4d(int64_t n, int64_t c, int64_t h, int64_t w) {
    set_strided(data_type<T>(), n, c, h, w, c * h * w, h * w, w, 1);
  }
  /// NCHW with explicit strides (elements).
  void set_strided(cudnnDataType_t type, int64_t n, int64_t c, int64_t h, int64_t w,
                   int64_t n_stride, int64_t c_stride, int64_t h_stride, int64_t w_stride);
  /// The per-channel (1 x C x 1 x 1) descriptor of spatial batch normalization over x.
  void set_batch_norm_of(const TensorDesc& x);
  cudnnTensorDescriptor_t get() const { return desc_; }

 private:
  cudnnTensorDescriptor_t desc_ = nullptr;
};

/// A 4-d filter descriptor (K output channels, C input channels per group, kh, kw), NCHW.
class FilterDesc {
 public:
  FilterDesc() = default;
  ~FilterDesc();
  FilterDesc(const FilterDesc&) = delete;
  FilterDesc& operator=(const FilterDesc&) = delete;

  template <class T>
  void set(int64_t k, int64_t c, int64_t h, int64_t w) {
    set(data_type<T>(), k, c, h, w);
  }
  void set(cudnnDataType_t type, int64_t k, int64_t c, int64_t h, int64_t w);
  cudnnFilterDescriptor_t get() const { return desc_; }

 private:
  cudnnFilterDescriptor_t desc_ = nullptr;
};

/// A 2-d cross-correlation (Caffe's convolution) with groups. The math type is FMA: tensor-core
/// TF32 would round float inputs to 10 mantissa bits, far from the CPU path's results.
class ConvDesc {
 public:
  ConvDesc() = default;
  ~ConvDesc();
  ConvDesc(const ConvDesc&) = delete;
  ConvDesc& operator=(const ConvDesc&) = delete;

  template <class T>
  void set(int64_t pad_h, int64_t pad_w, int64_t stride_h, int64_t stride_w, int64_t dilation_h,
           int64_t dilation_w, int64_t group) {
    set(data_type<T>(), pad_h, pad_w, stride_h, stride_w, dilation_h, dilation_w, group);
  }
  void set(cudnnDataType_t type, int64_t pad_h, int64_t pad_w, int64_t stride_h, int64_t stride_w,
           int64_t dilation_h, int64_t dilation_w, int64_t group);
  cudnnConvolutionDescriptor_t get() const { return desc_; }

 private:
  cudnnConvolutionDescriptor_t desc_ = nullptr;
};

/// A 2-d pooling window.
class PoolingDesc {
 public:
  PoolingDesc() = default;
  ~PoolingDesc();
  PoolingDesc(const PoolingDesc&) = delete;
  PoolingDesc& operator=(const PoolingDesc&) = delete;

  void set(cudnnPoolingMode_t mode, int64_t kernel_h, int64_t kernel_w, int64_t pad_h,
           int64_t pad_w, int64_t stride_h, int64_t stride_w);
  cudnnPoolingDescriptor_t get() const { return desc_; }

 private:
  cudnnPoolingDescriptor_t desc_ = nullptr;
};

/// Cross-channel LRN: y = x * (k + alpha / n * sum of x^2 over n channels)^-beta.
class LrnDesc {
 public:
  LrnDesc() = default;
  ~LrnDesc();
  LrnDesc(const LrnDesc&) = delete;
  LrnDesc& operator=(const LrnDesc&) = delete;

  void set(int64_t n, double alpha, double beta, double k);
  cudnnLRNDescriptor_t get() const { return desc_; }

 private:
  cudnnLRNDescriptor_t desc_ = nullptr;
};

/// An activation (sigmoid, ReLU, tanh, clipped ReLU, ELU) with its coefficient.
class ActivationDesc {
 public:
  ActivationDesc() = default;
  ~ActivationDesc();
  ActivationDesc(const ActivationDesc&) = delete;
  ActivationDesc& operator=(const ActivationDesc&) = delete;

  void set(cudnnActivationMode_t mode, double coef);
  cudnnActivationDescriptor_t get() const { return desc_; }

 private:
  cudnnActivationDescriptor_t desc_ = nullptr;
};

/// Largest workspace a convolution algorithm may use: CREMA_CUDNN_WORKSPACE_MB MiB when that
/// environment variable is set (a non-negative integer; ConfigError otherwise), else 512 MiB.
size_t workspace_limit_bytes();

/// One pass of a convolution: y = conv(x, w), dx = conv^T(dy, w), or dw = corr(x, dy).
enum class ConvPass { kForward, kBackwardData, kBackwardFilter };

/// The algorithm chosen for one pass at one shape, and the workspace it needs (bytes).
struct ConvAlgo {
  int algo = 0;  ///< cudnnConvolution{Fwd,BwdData,BwdFilter}Algo_t, by pass
  size_t workspace = 0;
};

/// Per-layer cache of convolution algorithms. The first call for a (pass, x, w, y, convolution)
/// combination asks cuDNN's heuristics (cudnnGet*Algorithm_v7) for its ranked algorithms and
/// keeps the best one that succeeds, does not use tensor-core math and whose workspace fits
/// workspace_limit_bytes(), preferring deterministic algorithms (training runs then repeat
/// bit for bit); later calls return it without searching. `x` / `y` are the convolution's input
/// and output (for kBackwardData: dy is y, dx is x; for kBackwardFilter: dy is y).
class ConvAlgoCache {
 public:
  ConvAlgo get(cudnnHandle_t handle, ConvPass pass, const TensorDesc& x, const FilterDesc& w,
               const ConvDesc& conv, const TensorDesc& y);
  /// Number of searches run so far (one per distinct key).
  int searches() const { return searches_; }

 private:
  std::map<std::vector<int>, ConvAlgo> cache_;
  int searches_ = 0;
};

/// The three passes of a convolution, each with the cached algorithm for its shapes and the
/// context's workspace (alpha = 1; beta = 0 overwrites the output, beta = 1 accumulates):
///   y  = conv(x, w) + beta * y
template <class T>
void conv_forward(Context& ctx, ConvAlgoCache& cache, const TensorDesc& x_desc, const T* x,
                  const FilterDesc& w_desc, const T* w, const ConvDesc& conv,
                  const TensorDesc& y_desc, T* y, T beta);
///   dx = conv^T(dy, w) + beta * dx
template <class T>
void conv_backward_data(Context& ctx, ConvAlgoCache& cache, const FilterDesc& w_desc, const T* w,
                        const TensorDesc& dy_desc, const T* dy, const ConvDesc& conv,
                        const TensorDesc& dx_desc, T* dx, T beta);
///   dw = corr(x, dy) + beta * dw
template <class T>
void conv_backward_filter(Context& ctx, ConvAlgoCache& cache, const TensorDesc& x_desc, const T* x,
                          const TensorDesc& dy_desc, const T* dy, const ConvDesc& conv,
                          const FilterDesc& dw_desc, T* dw, T beta);

/// y += bias, the (1, C, 1, 1) bias broadcast over y (convolution and deconvolution tops).
template <class T>
void add_bias(const Context& ctx, const TensorDesc& bias_desc, const T* bias,
              const TensorDesc& y_desc, T* y);
/// dbias += the sums of dy over all but the channel axis.
template <class T>
void accumulate_bias_grad(const Context& ctx, const TensorDesc& dy_desc, const T* dy,
                          const TensorDesc& bias_desc, T* dbias);

/// y = act(x) over n values with cuDNN's activation `mode` (sigmoid, ReLU, tanh), in pieces
/// whose sizes fit cuDNN's int dimensions. x and y may be the same buffer.
template <class T>
void activation_forward(const Context& ctx, cudnnActivationMode_t mode, int64_t n, const T* x,
                        T* y);
/// dx = act'(x) dy from the output y and input x (the output again where the layer ran in place:
/// sigmoid, tanh and ReLU derivatives follow from y alone). dx may be dy.
template <class T>
void activation_backward(const Context& ctx, cudnnActivationMode_t mode, int64_t n, const T* y,
                         const T* dy, const T* x, T* dx);

/// Row-major C = alpha * op(A) * op(B) + beta * C on the context's cuBLAS handle, as
/// blas::gemm (A is M x K after op, B is K x N).
template <class T>
void gemm(const Context& ctx, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha,
          const T* a, const T* b, T beta, T* c);

/// Row-major y = alpha * op(A) * x + beta * y, A is M x N, as blas::gemv.
template <class T>
void gemv(const Context& ctx, bool trans_a, int64_t m, int64_t n, T alpha, const T* a, const T* x,
          T beta, T* y);

}  // namespace crema::cudnn
#endif
