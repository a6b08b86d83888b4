/// Thin typed wrappers over CBLAS (OpenBLAS) used by the CPU paths.
#pragma once

#include <cblas.h>

#include <cstdint>
#include <type_traits>

namespace crema::blas {

/// C = alpha * op(A) * op(B) + beta * C, row-major; A is MxK after op, B is KxN.
template <class T>
inline void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
                 const T* b, T beta, T* c) {
  const auto ta = trans_a ? CblasTrans : CblasNoTrans;
  const auto tb = trans_b ? CblasTrans : CblasNoTrans;
  const blasint lda = static_cast<blasint>(trans_a ? m : k);
  const blasint ldb = static_cast<blasint>(trans_b ? k : n);
  if constexpr (std::is_same_v<T, float>)
    cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, n);
  else
    cblas_dgemm(CblasRowMajor, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, n);
}

/// y = alpha * op(A) * x + beta * y, A is MxN row-major.
template <class T>
inline void gemv(bool trans_a, int64_t m, int64_t n, T alpha, const T* a, const T* x, T beta,
                 T* y) {
  const auto ta = trans_a ? CblasTrans : CblasNoTrans;
  if constexpr (std::is_same_v<T, float>)
    cblas_sgemv(CblasRowMajor, ta, m, n, alpha, a, n, x, 1, beta, y, 1);
  else
    cblas_dgemv(CblasRowMajor, ta, m, n, alpha, a, n, x, 1, beta, y, 1);
}

/// y += alpha * x
template <class T>
inline void axpy(int64_t n, T alpha, const T* x, T* y) {
  if constexpr (std::is_same_v<T, float>)
    cblas_saxpy(n, alpha, x, 1, y, 1);
  else
    cblas_daxpy(n, alpha, x, 1, y, 1);
}

/// x *= alpha
template <class T>
inline void scal(int64_t n, T alpha, T* x) {
  if constexpr (std::is_same_v<T, float>)
    cblas_sscal(n, alpha, x, 1);
  else
    cblas_dscal(n, alpha, x, 1);
}

template <class T>
inline T dot(int64_t n, const T* x, const T* y) {
  if constexpr (std::is_same_v<T, float>)
    return cblas_sdot(n, x, 1, y, 1);
  else
    return cblas_ddot(n, x, 1, y, 1);
}

template <class T>
inline T asum(int64_t n, const T* x) {
  if constexpr (std::is_same_v<T, float>)
    return cblas_sasum(n, x, 1);
  else
    return cblas_dasum(n, x, 1);
}

}  // namespace crema::blas
