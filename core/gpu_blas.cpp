#include "core/gpu_blas.h"

#include "core/error.h"

#if CREMA_WITH_CUDA
#include <cublas_v2.h>

#include "core/cudnn_util.h"
#endif

namespace crema {

#if CREMA_WITH_CUDA
namespace {

using cudnn::check_cublas;
// The context's cuBLAS handle, bound to its stream.
cublasHandle_t handle(const Context& ctx) { return cudnn::cublas(ctx); }

}  // namespace

template <>
void gpu_scal<float>(const Context& ctx, int64_t n, float alpha, float* x) {
  check_cublas(cublasSscal_64(handle(ctx), n, &alpha, x, 1), "cublasSscal");
}
template <>
void gpu_scal<double>(const Context& ctx, int64_t n, double alpha, double* x) {
  check_cublas(cublasDscal_64(handle(ctx), n, &alpha, x, 1), "cublasDscal");
}
template <>
void gpu_axpy<float>(const Context& ctx, int64_t n, float alpha, const float* x, float* y) {
  check_cublas(cublasSaxpy_64(handle(ctx), n, &alpha, x, 1, y, 1), "cublasSaxpy");
}
template <>
void gpu_axpy<double>(const Context& ctx, int64_t n, double alpha, const double* x, double* y) {
  check_cublas(cublasDaxpy_64(handle(ctx), n, &alpha, x, 1, y, 1), "cublasDaxpy");
}
template <>
double gpu_dot<float>(const Context& ctx, int64_t n, const float* x, const float* y) {
  float r = 0;
  check_cublas(cublasSdot_64(handle(ctx), n, x, 1, y, 1, &r), "cublasSdot");
  return r;
}
template <>
double gpu_dot<double>(const Context& ctx, int64_t n, const double* x, const double* y) {
  double r = 0;
  check_cublas(cublasDdot_64(handle(ctx), n, x, 1, y, 1, &r), "cublasDdot");
  return r;
}

#else

template <class T>
void gpu_scal(const Context&, int64_t, T, T*) {
  throw DeviceError("cuBLAS is not available: this crema was built without CUDA");
}
template <class T>
void gpu_axpy(const Context&, int64_t, T, const T*, T*) {
  throw DeviceError("cuBLAS is not available: this crema was built without CUDA");
}
template <class T>
double gpu_dot(const Context&, int64_t, const T*, const T*) {
  throw DeviceError("cuBLAS is not available: this crema was built without CUDA");
}
template void gpu_scal<float>(const Context&, int64_t, float, float*);
template void gpu_scal<double>(const Context&, int64_t, double, double*);
template void gpu_axpy<float>(const Context&, int64_t, float, const float*, float*);
template void gpu_axpy<double>(const Context&, int64_t, double, const double*, double*);
template double gpu_dot<float>(const Context&, int64_t, const float*, const float*);
template double gpu_dot<double>(const Context&, int64_t, const double*, const double*);

#endif

}  // namespace crema
