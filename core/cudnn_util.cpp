#include "core/cudnn_util.h"

#if CREMA_WITH_CUDA
#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <string>

namespace crema::cudnn {

void check(cudnnStatus_t status, const char* call) {
  if (status != CUDNN_STATUS_SUCCESS)
    throw DeviceError(str_cat(call, " failed: ", cudnnGetErrorString(status)));
}

void check_cublas(cublasStatus_t status, const char* call) {
  if (status != CUBLAS_STATUS_SUCCESS)
    throw DeviceError(str_cat(call, " failed: ", cublasGetStatusName(status), " (",
                              cublasGetStatusString(status), ")"));
}

int to_int(int64_t value, const char* what) {
  if (value < INT_MIN || value > INT_MAX)
    throw DeviceError(str_cat(what, " is ", value,
                              ", beyond the 32-bit int range that cuDNN and cuBLAS take; split "
                              "the batch or run this layer on the CPU"));
  return static_cast<int>(value);
}

TensorDesc::~TensorDesc() {
  if (desc_ != nullptr) cudnnDestroyTensorDescriptor(desc_);
}

void TensorDesc::set_strided(cudnnDataType_t type, int64_t n, int64_t c, int64_t h, int64_t w,
                             int64_t n_stride, int64_t c_stride, int64_t h_stride,
                             int64_t w_stride) {
  if (desc_ == nullptr) check(cudnnCreateTensorDescriptor(&desc_), "cudnnCreateTensorDescriptor");
  check(cudnnSetTensor4dDescriptorEx(
            desc_, type, to_int(n, "a tensor's N"), to_int(c, "a tensor's C"),
            to_int(h, "a tensor's H"), to_int(w, "a tensor's W"), to_int(n_stride, "an N stride"),
            to_int(c_stride, "a C stride"), to_int(h_stride, "an H stride"),
            to_int(w_stride, "a W stride")),
        "cudnnSetTensor4dDescriptorEx");
}

void TensorDesc::set_batch_norm_of(const TensorDesc& x) {
  if (desc_ == nullptr) check(cudnnCreateTensorDescriptor(&desc_), "cudnnCreateTensorDescriptor");
  check(cudnnDeriveBNTensorDescriptor(desc_, x.get(), CUDNN_BATCHNORM_SPATIAL),
        "cudnnDeriveBNTensorDescriptor");
}

FilterDesc::~FilterDesc() {
  if (desc_ != nullptr) cudnnDestroyFilterDescriptor(desc_);
}

void FilterDesc::set(cudnnDataType_t type, int64_t k, int64_t c, int64_t h, int64_t w) {
  if (desc_ == nullptr) check(cudnnCreateFilterDescriptor(&desc_), "cudnnCreateFilterDescriptor");
  check(cudnnSetFilter4dDescriptor(desc_, type, CUDNN_TENSOR_NCHW, to_int(k, "a filter's K"),
                                   to_int(c, "a filter's C"), to_int(h, "a filter's H"),
                                   to_int(w, "a filter's W")),
        "cudnnSetFilter4dDescriptor");
}

ConvDesc::~ConvDesc() {
  if (desc_ != nullptr) cudnnDestroyConvolutionDescriptor(desc_);
}

void ConvDesc::set(cudnnDataType_t type, int64_t pad_h, int64_t pad_w, int64_t stride_h,
                   int64_t stride_w, int64_t dilation_h, int64_t dilation_w, int64_t group) {
  if (desc_ == nullptr)
    check(cudnnCreateConvolutionDescriptor(&desc_), "cudnnCreateConvolutionDescriptor");
  check(cudnnSetConvolution2dDescriptor(
            desc_, to_int(pad_h, "pad_h"), to_int(pad_w, "pad_w"), to_int(stride_h, "stride_h"),
            to_int(stride_w, "stride_w"), to_int(dilation_h, "dilation_h"),
            to_int(dilation_w, "dilation_w"), CUDNN_CROSS_CORRELATION, type),
        "cudnnSetConvolution2dDescriptor");
  check(cudnnSetConvolutionGroupCount(desc_, to_int(group, "group")),
        "cudnnSetConvolutionGroupCount");
  check(cudnnSetConvolutionMathType(desc_, CUDNN_FMA_MATH), "cudnnSetConvolutionMathType");
}

PoolingDesc::~PoolingDesc() {
  if (desc_ != nullptr) cudnnDestroyPoolingDescriptor(desc_);
}

void PoolingDesc::set(cudnnPoolingMode_t mode, int64_t kernel_h, int64_t kernel_w, int64_t pad_h,
                      int64_t pad_w, int64_t stride_h, int64_t stride_w) {
  if (desc_ == nullptr) check(cudnnCreatePoolingDescriptor(&desc_), "cudnnCreatePoolingDescriptor");
  check(cudnnSetPooling2dDescriptor(desc_, mode, CUDNN_NOT_PROPAGATE_NAN,
                                    to_int(kernel_h, "kernel_h"), to_int(kernel_w, "kernel_w"),
                                    to_int(pad_h, "pad_h"), to_int(pad_w, "pad_w"),
                                    to_int(stride_h, "stride_h"), to_int(stride_w, "stride_w")),
        "cudnnSetPooling2dDescriptor");
}

LrnDesc::~LrnDesc() {
  if (desc_ != nullptr) cudnnDestroyLRNDescriptor(desc_);
}

void LrnDesc::set(int64_t n, double alpha, double beta, double k) {
  if (desc_ == nullptr) check(cudnnCreateLRNDescriptor(&desc_), "cudnnCreateLRNDescriptor");
  check(
      cudnnSetLRNDescriptor(desc_, static_cast<unsigned>(to_int(n, "local_size")), alpha, beta, k),
      "cudnnSetLRNDescriptor");
}

ActivationDesc::~ActivationDesc() {
  if (desc_ != nullptr) cudnnDestroyActivationDescriptor(desc_);
}

void ActivationDesc::set(cudnnActivationMode_t mode, double coef) {
  if (desc_ == nullptr)
    check(cudnnCreateActivationDescriptor(&desc_), "cudnnCreateActivationDescriptor");
  check(cudnnSetActivationDescriptor(desc_, mode, CUDNN_NOT_PROPAGATE_NAN, coef),
        "cudnnSetActivationDescriptor");
}

namespace {
// Pieces of elementwise cuDNN calls: flat (1, 1, 1, piece) tensors with int dimensions.
constexpr int64_t kMaxActivationPiece = int64_t{1} << 30;
}  // namespace

template <class T>
void activation_forward(const Context& ctx, cudnnActivationMode_t mode, int64_t n, const T* x,
                        T* y) {
  ActivationDesc act;
  act.set(mode, 0.0);
  TensorDesc desc;
  for (int64_t off = 0; off < n; off += kMaxActivationPiece) {
    desc.set_4d<T>(1, 1, 1, std::min(kMaxActivationPiece, n - off));
    check(cudnnActivationForward(handle(ctx), act.get(), &kOne<T>, desc.get(), x + off, &kZero<T>,
                                 desc.get(), y + off),
          "cudnnActivationForward");
  }
}

template <class T>
void activation_backward(const Context& ctx, cudnnActivationMode_t mode, int64_t n, const T* y,
                         const T* dy, const T* x, T* dx) {
  ActivationDesc act;
  act.set(mode, 0.0);
  TensorDesc desc;
  for (int64_t off = 0; off < n; off += kMaxActivationPiece) {
    desc.set_4d<T>(1, 1, 1, std::min(kMaxActivationPiece, n - off));
    check(cudnnActivationBackward(handle(ctx), act.get(), &kOne<T>, desc.get(), y + off, desc.get(),
                                  dy + off, desc.get(), x + off, &kZero<T>, desc.get(), dx + off),
          "cudnnActivationBackward");
  }
}

template void activation_forward<float>(const Context&, cudnnActivationMode_t, int64_t,
                                        const float*, float*);
template void activation_forward<double>(const Context&, cudnnActivationMode_t, int64_t,
                                         const double*, double*);
template void activation_backward<float>(const Context&, cudnnActivationMode_t, int64_t,
                                         const float*, const float*, const float*, float*);
template void activation_backward<double>(const Context&, cudnnActivationMode_t, int64_t,
                                          const double*, const double*, const double*, double*);

size_t workspace_limit_bytes() {
  constexpr size_t kMiB = size_t{1} << 20;
  const char* env = std::getenv("CREMA_CUDNN_WORKSPACE_MB");
  if (env == nullptr || env[0] == '\0') return 512 * kMiB;
  char* end = nullptr;
  const long long mb = std::strtoll(env, &end, 10);
  if (*end != '\0' || mb < 0 || mb > (1LL << 30))
    throw ConfigError(str_cat("CREMA_CUDNN_WORKSPACE_MB is '", env,
                              "'; set it to a whole number of MiB (e.g. 512) or unset it"));
  return static_cast<size_t>(mb) * kMiB;
}

namespace {

std::vector<int> tensor_dims(const TensorDesc& d) {
  cudnnDataType_t type;
  int n, c, h, w, ns, cs, hs, ws;
  check(cudnnGetTensor4dDescriptor(d.get(), &type, &n, &c, &h, &w, &ns, &cs, &hs, &ws),
        "cudnnGetTensor4dDescriptor");
  return {static_cast<int>(type), n, c, h, w, ns, cs, hs, ws};
}

std::vector<int> filter_dims(const FilterDesc& d) {
  cudnnDataType_t type;
  cudnnTensorFormat_t format;
  int k, c, h, w;
  check(cudnnGetFilter4dDescriptor(d.get(), &type, &format, &k, &c, &h, &w),
        "cudnnGetFilter4dDescriptor");
  return {static_cast<int>(type), static_cast<int>(format), k, c, h, w};
}

std::vector<int> conv_params(const ConvDesc& d) {
  int pad_h, pad_w, u, v, dil_h, dil_w, group;
  cudnnConvolutionMode_t mode;
  cudnnDataType_t type;
  check(cudnnGetConvolution2dDescriptor(d.get(), &pad_h, &pad_w, &u, &v, &dil_h, &dil_w, &mode,
                                        &type),
        "cudnnGetConvolution2dDescriptor");
  check(cudnnGetConvolutionGroupCount(d.get(), &group), "cudnnGetConvolutionGroupCount");
  return {pad_h, pad_w, u, v, dil_h, dil_w, static_cast<int>(mode), static_cast<int>(type), group};
}

const char* pass_name(ConvPass pass) {
  switch (pass) {
    case ConvPass::kForward:
      return "forward";
    case ConvPass::kBackwardData:
      return "backward-data";
    case ConvPass::kBackwardFilter:
      return "backward-filter";
  }
  return "?";
}

// The first usable ranked result: successful, no tensor-core math, workspace within `limit`
// (re-queried exactly by `workspace_of`); deterministic ones first.
template <class Perf, class WorkspaceOf>
ConvAlgo pick(const std::vector<Perf>& ranked, size_t limit, ConvPass pass,
              WorkspaceOf workspace_of) {
  size_t smallest = SIZE_MAX;
  for (const bool need_deterministic : {true, false}) {
    for (const Perf& p : ranked) {
      if (p.status != CUDNN_STATUS_SUCCESS) continue;
      if (p.mathType == CUDNN_TENSOR_OP_MATH || p.mathType == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION)
        continue;
      if (need_deterministic && p.determinism != CUDNN_DETERMINISTIC) continue;
      const size_t bytes = workspace_of(p.algo);
      if (bytes < smallest) smallest = bytes;
      if (bytes <= limit) return {static_cast<int>(p.algo), bytes};
    }
  }
  if (smallest == SIZE_MAX)
    throw DeviceError(str_cat("cuDNN offers no convolution ", pass_name(pass),
                              " algorithm for these shapes and settings"));
  throw DeviceError(str_cat("no cuDNN convolution ", pass_name(pass),
                            " algorithm fits the workspace limit of ", limit >> 20,
                            " MiB (the smallest needs ", (smallest + (1 << 20) - 1) >> 20,
                            " MiB); raise CREMA_CUDNN_WORKSPACE_MB"));
}

}  // namespace

ConvAlgo ConvAlgoCache::get(cudnnHandle_t handle, ConvPass pass, const TensorDesc& x,
                            const FilterDesc& w, const ConvDesc& conv, const TensorDesc& y) {
  std::vector<int> key{static_cast<int>(pass)};
  for (const auto& part : {tensor_dims(x), filter_dims(w), conv_params(conv), tensor_dims(y)})
    key.insert(key.end(), part.begin(), part.end());
  const auto it = cache_.find(key);
  if (it != cache_.end()) return it->second;

  const size_t limit = workspace_limit_bytes();
  int count = 0, returned = 0;
  ConvAlgo chosen;
  switch (pass) {
    case ConvPass::kForward: {
      check(cudnnGetConvolutionForwardAlgorithmMaxCount(handle, &count),
            "cudnnGetConvolutionForwardAlgorithmMaxCount");
      std::vector<cudnnConvolutionFwdAlgoPerf_t> perf(static_cast<size_t>(count));
      check(cudnnGetConvolutionForwardAlgorithm_v7(handle, x.get(), w.get(), conv.get(), y.get(),
                                                   count, &returned, perf.data()),
            "cudnnGetConvolutionForwardAlgorithm_v7");
      perf.resize(static_cast<size_t>(returned));
      chosen = pick(perf, limit, pass, [&](cudnnConvolutionFwdAlgo_t algo) {
        size_t bytes = 0;
        check(cudnnGetConvolutionForwardWorkspaceSize(handle, x.get(), w.get(), conv.get(), y.get(),
                                                      algo, &bytes),
              "cudnnGetConvolutionForwardWorkspaceSize");
        return bytes;
      });
      break;
    }
    case ConvPass::kBackwardData: {
      check(cudnnGetConvolutionBackwardDataAlgorithmMaxCount(handle, &count),
            "cudnnGetConvolutionBackwardDataAlgorithmMaxCount");
      std::vector<cudnnConvolutionBwdDataAlgoPerf_t> perf(static_cast<size_t>(count));
      check(cudnnGetConvolutionBackwardDataAlgorithm_v7(handle, w.get(), y.get(), conv.get(),
                                                        x.get(), count, &returned, perf.data()),
            "cudnnGetConvolutionBackwardDataAlgorithm_v7");
      perf.resize(static_cast<size_t>(returned));
      chosen = pick(perf, limit, pass, [&](cudnnConvolutionBwdDataAlgo_t algo) {
        size_t bytes = 0;
        check(cudnnGetConvolutionBackwardDataWorkspaceSize(handle, w.get(), y.get(), conv.get(),
                                                           x.get(), algo, &bytes),
              "cudnnGetConvolutionBackwardDataWorkspaceSize");
        return bytes;
      });
      break;
    }
    case ConvPass::kBackwardFilter: {
      check(cudnnGetConvolutionBackwardFilterAlgorithmMaxCount(handle, &count),
            "cudnnGetConvolutionBackwardFilterAlgorithmMaxCount");
      std::vector<cudnnConvolutionBwdFilterAlgoPerf_t> perf(static_cast<size_t>(count));
      check(cudnnGetConvolutionBackwardFilterAlgorithm_v7(handle, x.get(), y.get(), conv.get(),
                                                          w.get(), count, &returned, perf.data()),
            "cudnnGetConvolutionBackwardFilterAlgorithm_v7");
      perf.resize(static_cast<size_t>(returned));
      chosen = pick(perf, limit, pass, [&](cudnnConvolutionBwdFilterAlgo_t algo) {
        size_t bytes = 0;
        check(cudnnGetConvolutionBackwardFilterWorkspaceSize(handle, x.get(), y.get(), conv.get(),
                                                             w.get(), algo, &bytes),
              "cudnnGetConvolutionBackwardFilterWorkspaceSize");
        return bytes;
      });
      break;
    }
  }
  ++searches_;
  cache_.emplace(std::move(key), chosen);
  return chosen;
}

template <class T>
void conv_forward(Context& ctx, ConvAlgoCache& cache, const TensorDesc& x_desc, const T* x,
                  const FilterDesc& w_desc, const T* w, const ConvDesc& conv,
                  const TensorDesc& y_desc, T* y, T beta) {
  const cudnnHandle_t h = handle(ctx);
  const ConvAlgo a = cache.get(h, ConvPass::kForward, x_desc, w_desc, conv, y_desc);
  check(cudnnConvolutionForward(h, &kOne<T>, x_desc.get(), x, w_desc.get(), w, conv.get(),
                                static_cast<cudnnConvolutionFwdAlgo_t>(a.algo),
                                ctx.cuda->workspace(a.workspace), a.workspace, &beta, y_desc.get(),
                                y),
        "cudnnConvolutionForward");
}

template <class T>
void conv_backward_data(Context& ctx, ConvAlgoCache& cache, const FilterDesc& w_desc, const T* w,
                        const TensorDesc& dy_desc, const T* dy, const ConvDesc& conv,
                        const TensorDesc& dx_desc, T* dx, T beta) {
  const cudnnHandle_t h = handle(ctx);
  const ConvAlgo a = cache.get(h, ConvPass::kBackwardData, dx_desc, w_desc, conv, dy_desc);
  check(cudnnConvolutionBackwardData(h, &kOne<T>, w_desc.get(), w, dy_desc.get(), dy, conv.get(),
                                     static_cast<cudnnConvolutionBwdDataAlgo_t>(a.algo),
                                     ctx.cuda->workspace(a.workspace), a.workspace, &beta,
                                     dx_desc.get(), dx),
        "cudnnConvolutionBackwardData");
}

template <class T>
void conv_backward_filter(Context& ctx, ConvAlgoCache& cache, const TensorDesc& x_desc, const T* x,
                          const TensorDesc& dy_desc, const T* dy, const ConvDesc& conv,
                          const FilterDesc& dw_desc, T* dw, T beta) {
  const cudnnHandle_t h = handle(ctx);
  const ConvAlgo a = cache.get(h, ConvPass::kBackwardFilter, x_desc, dw_desc, conv, dy_desc);
  check(cudnnConvolutionBackwardFilter(h, &kOne<T>, x_desc.get(), x, dy_desc.get(), dy, conv.get(),
                                       static_cast<cudnnConvolutionBwdFilterAlgo_t>(a.algo),
                                       ctx.cuda->workspace(a.workspace), a.workspace, &beta,
                                       dw_desc.get(), dw),
        "cudnnConvolutionBackwardFilter");
}

template <class T>
void gemm(const Context& ctx, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha,
          const T* a, const T* b, T beta, T* c) {
  if (m == 0 || n == 0) return;
  // Row-major C (M x N) is column-major C^T (N x M) = op(B)^T op(A)^T: swap the operands.
  const cublasOperation_t ta = trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t tb = trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  const int mi = to_int(m, "GEMM M"), ni = to_int(n, "GEMM N"), ki = to_int(k, "GEMM K");
  const int lda = std::max(1, trans_a ? mi : ki), ldb = std::max(1, trans_b ? ki : ni);
  if constexpr (std::is_same_v<T, float>)
    check_cublas(cublasSgemm(cublas(ctx), tb, ta, ni, mi, ki, &alpha, b, ldb, a, lda, &beta, c, ni),
                 "cublasSgemm");
  else
    check_cublas(cublasDgemm(cublas(ctx), tb, ta, ni, mi, ki, &alpha, b, ldb, a, lda, &beta, c, ni),
                 "cublasDgemm");
}

template <class T>
void gemv(const Context& ctx, bool trans_a, int64_t m, int64_t n, T alpha, const T* a, const T* x,
          T beta, T* y) {
  if (m == 0 || n == 0) return;
  // Row-major A (M x N) is column-major A^T (N x M, leading dimension N): flip the transpose.
  const cublasOperation_t op = trans_a ? CUBLAS_OP_N : CUBLAS_OP_T;
  const int mi = to_int(m, "GEMV M"), ni = to_int(n, "GEMV N");
  if constexpr (std::is_same_v<T, float>)
    check_cublas(cublasSgemv(cublas(ctx), op, ni, mi, &alpha, a, ni, x, 1, &beta, y, 1),
                 "cublasSgemv");
  else
    check_cublas(cublasDgemv(cublas(ctx), op, ni, mi, &alpha, a, ni, x, 1, &beta, y, 1),
                 "cublasDgemv");
}

#define CREMA_INSTANTIATE_CUDNN_UTIL(T)                                                          \
  template void conv_forward<T>(Context&, ConvAlgoCache&, const TensorDesc&, const T*,           \
                                const FilterDesc&, const T*, const ConvDesc&, const TensorDesc&, \
                                T*, T);                                                          \
  template void conv_backward_data<T>(Context&, ConvAlgoCache&, const FilterDesc&, const T*,     \
                                      const TensorDesc&, const T*, const ConvDesc&,              \
                                      const TensorDesc&, T*, T);                                 \
  template void conv_backward_filter<T>(Context&, ConvAlgoCache&, const TensorDesc&, const T*,   \
                                        const TensorDesc&, const T*, const ConvDesc&,            \
                                        const FilterDesc&, T*, T);                               \
  template void gemm<T>(const Context&, bool, bool, int64_t, int64_t, int64_t, T, const T*,      \
                        const T*, T, T*);                                                        \
  template void gemv<T>(const Context&, bool, int64_t, int64_t, T, const T*, const T*, T, T*);
CREMA_INSTANTIATE_CUDNN_UTIL(float)
CREMA_INSTANTIATE_CUDNN_UTIL(double)

template <class T>
void add_bias(const Context& ctx, const TensorDesc& bias_desc, const T* bias,
              const TensorDesc& y_desc, T* y) {
  check(cudnnAddTensor(handle(ctx), &kOne<T>, bias_desc.get(), bias, &kOne<T>, y_desc.get(), y),
        "cudnnAddTensor");
}

template <class T>
void accumulate_bias_grad(const Context& ctx, const TensorDesc& dy_desc, const T* dy,
                          const TensorDesc& bias_desc, T* dbias) {
  check(cudnnConvolutionBackwardBias(handle(ctx), &kOne<T>, dy_desc.get(), dy, &kOne<T>,
                                     bias_desc.get(), dbias),
        "cudnnConvolutionBackwardBias");
}

template void add_bias<float>(const Context&, const TensorDesc&, const float*, const TensorDesc&,
                              float*);
template void add_bias<double>(const Context&, const TensorDesc&, const double*, const TensorDesc&,
                               double*);
template void accumulate_bias_grad<float>(const Context&, const TensorDesc&, const float*,
                                          const TensorDesc&, float*);
template void accumulate_bias_grad<double>(const Context&, const TensorDesc&, const double*,
                                           const TensorDesc&, double*);

}  // namespace crema::cudnn
#endif
