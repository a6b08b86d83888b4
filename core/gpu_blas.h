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

/// Sum of x[i] * y[i] over n values in device memory (waits for the stream).
template <class T>
double gpu_dot(const Context& ctx, int64_t n, const T* x, const T* y);

}  // namespace crema
