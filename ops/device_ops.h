/// DeviceOps<T>: tensor pointers, BLAS and copies on the device a pass runs on (ctx.on_gpu()), so
/// a layer whose GPU pass differs from its CPU pass only in where each step runs writes the pass
/// once (one control flow; the kernel bodies are shared anyway).
#pragma once

#include <cstdint>

#include "core/context.h"
#include "core/tensor.h"

namespace crema {

template <class T>
class DeviceOps {
 public:
  explicit DeviceOps(const Context& ctx) : ctx_(ctx) {}

  bool gpu() const { return ctx_.on_gpu(); }
  const Context& ctx() const { return ctx_; }

  const T* data(const Tensor<T>& t) const { return gpu() ? t.gpu_data(ctx_) : t.cpu_data(); }
  T* mutable_data(Tensor<T>& t) const {
    return gpu() ? t.mutable_gpu_data(ctx_) : t.mutable_cpu_data();
  }
  const T* diff(const Tensor<T>& t) const { return gpu() ? t.gpu_diff(ctx_) : t.cpu_diff(); }
  T* mutable_diff(Tensor<T>& t) const {
    return gpu() ? t.mutable_gpu_diff(ctx_) : t.mutable_cpu_diff();
  }

  /// Row-major C = alpha op(A) op(B) + beta C (A is M x K after op): OpenBLAS or cuBLAS.
  void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
            const T* b, T beta, T* c) const;
  /// Row-major y = alpha op(A) x + beta y, A is M x N.
  void gemv(bool trans_a, int64_t m, int64_t n, T alpha, const T* a, const T* x, T beta,
            T* y) const;
  /// y += alpha x.
  void axpy(int64_t n, T alpha, const T* x, T* y) const;
  /// dst = src (n values; nothing when they are the same buffer).
  void copy(int64_t n, const T* src, T* dst) const;
  /// dst = 0 (n values).
  void zero(int64_t n, T* dst) const;

 private:
  const Context& ctx_;
};

}  // namespace crema
