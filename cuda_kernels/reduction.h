/// Kernel bodies of Reduction: SUM, ASUM, SUMSQ or MEAN over all axes from one on.
#pragma once

#include <cmath>
#include <cstdint>

#include "core/hd.h"
#include "cuda_kernels/launch.h"

namespace crema::kernels {

/// The operations, numbered as ReductionParameter.ReductionOp.
enum class ReductionOp : int { kSum = 1, kAsum = 2, kSumsq = 3, kMean = 4 };

/// Bottom viewed as (num, dim); the top has num values.
struct ReductionArgs {
  int64_t num = 0;
  int64_t dim = 0;
  ReductionOp op = ReductionOp::kSum;
  double scale = 1;  ///< coeff, divided by dim for MEAN
};

/// y[i] = scale * reduce(x[i * dim .. (i+1) * dim)), accumulated in double in index order.
/// Work item i in [0, num). Writes y[i] only: GATHER.
template <class T>
CREMA_HD inline void reduction_forward(int64_t i, const ReductionArgs& a, const T* x, T* y) {
  const T* p = x + i * a.dim;
  double sum = 0;
  for (int64_t j = 0; j < a.dim; ++j) {
    const double v = p[j];
    switch (a.op) {
      case ReductionOp::kAsum:
        sum += std::fabs(v);
        break;
      case ReductionOp::kSumsq:
        sum += v * v;
        break;
      default:
        sum += v;
        break;
    }
  }
  y[i] = static_cast<T>(a.scale * sum);
}

/// dx[j] = scale * dy[j / dim] * d reduce / d x[j]: 1 (SUM, MEAN), sign(x) with sign(0) = 0
/// (ASUM), 2x (SUMSQ). Work item j in [0, num * dim). Writes dx[j] only: GATHER.
template <class T>
CREMA_HD inline void reduction_backward(int64_t j, const ReductionArgs& a, const T* x, const T* dy,
                                        T* dx) {
  const T g = static_cast<T>(a.scale) * dy[j / a.dim];
  const T v = x[j];
  switch (a.op) {
    case ReductionOp::kAsum:
      dx[j] = g * static_cast<T>((T(0) < v) - (v < T(0)));
      break;
    case ReductionOp::kSumsq:
      dx[j] = g * T(2) * v;
      break;
    default:
      dx[j] = g;
      break;
  }
}

}  // namespace crema::kernels

namespace crema::cuda {

/// Launchers of the bodies above (cuda_kernels/reduction.cu; CUDA builds only).
template <class T>
void launch_reduction_forward(Stream s, int64_t n, const kernels::ReductionArgs& a, const T* x,
                              T* y);
template <class T>
void launch_reduction_backward(Stream s, int64_t n, const kernels::ReductionArgs& a, const T* x,
                               const T* dy, T* dx);

}  // namespace crema::cuda
