#include "ops/device_ops.h"

#include <algorithm>

#include "core/blas.h"

#if CREMA_WITH_CUDA
#include "core/cudnn_util.h"
#include "core/gpu_blas.h"
#include "ops/gpu_copy.h"
#endif

namespace crema {

// Each GPU branch below is reached only with a GPU Context, which a CPU-only build cannot make.
template <class T>
void DeviceOps<T>::gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha,
                        const T* a, const T* b, T beta, T* c) const {
#if CREMA_WITH_CUDA
  if (gpu()) return cudnn::gemm<T>(ctx_, trans_a, trans_b, m, n, k, alpha, a, b, beta, c);
#endif
  blas::gemm<T>(trans_a, trans_b, m, n, k, alpha, a, b, beta, c);
}

template <class T>
void DeviceOps<T>::gemv(bool trans_a, int64_t m, int64_t n, T alpha, const T* a, const T* x, T beta,
                        T* y) const {
#if CREMA_WITH_CUDA
  if (gpu()) return cudnn::gemv<T>(ctx_, trans_a, m, n, alpha, a, x, beta, y);
#endif
  blas::gemv<T>(trans_a, m, n, alpha, a, x, beta, y);
}

template <class T>
void DeviceOps<T>::axpy(int64_t n, T alpha, const T* x, T* y) const {
#if CREMA_WITH_CUDA
  if (gpu()) return gpu_axpy<T>(ctx_, n, alpha, x, y);
#endif
  blas::axpy<T>(n, alpha, x, y);
}

template <class T>
void DeviceOps<T>::copy(int64_t n, const T* src, T* dst) const {
  if (n <= 0 || src == dst) return;
#if CREMA_WITH_CUDA
  if (gpu()) return cuda::copy<T>(ctx_, n, src, dst);
#endif
  std::copy(src, src + n, dst);
}

template <class T>
void DeviceOps<T>::zero(int64_t n, T* dst) const {
  if (n <= 0) return;
#if CREMA_WITH_CUDA
  if (gpu()) return cuda::zero_bytes(ctx_, dst, static_cast<size_t>(n) * sizeof(T));
#endif
  std::fill(dst, dst + n, T(0));
}

template class DeviceOps<float>;
template class DeviceOps<double>;

}  // namespace crema
