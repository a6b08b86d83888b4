/// cuBLAS level-1 helpers on a GPU Context's handle and stream (solver-side vector work on the
/// device). CUDA builds only; elsewhere they throw DeviceError.
#pragma once

#include <cstdint>

#include "core/context.h"

namespace crema {

/// x *= alpha for n values in device memory.
template <class T>
void gpu_scal(const Context& ctx, int64_t n, T alpha, T* x);

/// y += alpha * x for n values in device memory.
template <class T>
void gpu_axpy(const Context& ctx, int64_t n, T alpha, const T* x, T* y);

/// C = alpha * op(A) * op(B) + beta * C in device memory, row-major as blas::gemm (core/blas.h):
/// op(A) is m x k, op(B) is k x n, C is m x n.
template <class T>
void gpu_gemm(const Context& ctx, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k,
              T alpha, const T* a, const T* b, T beta, T* c);

/// Sum of x[i] * y[i] over n values in device memory (waits for the stream).
template <class T>
double gpu_dot(const Context& ctx, int64_t n, const T* x, const T* y);

}  // namespace crema
