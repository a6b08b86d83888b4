/// Eltwise kernel bodies (Caffe's Eltwise: PROD, SUM with coefficients, MAX).
#pragma once

#include <cstdint>

#include "core/hd.h"
#include "cuda_kernels/launch.h"

namespace crema::kernels {

/// Values match EltwiseParameter::EltwiseOp.
enum class EltwiseOp : int { kProd = 0, kSum = 1, kMax = 2 };

struct EltwiseArgs {
  EltwiseOp op;
  int num_bottoms;        ///< >= 2
  bool stable_prod_grad;  ///< PROD gradient as the product of the other inputs, not y / x
};

// Work item i: one element of the output. Reads x[0..num_bottoms)[i] (and coeff for SUM);
// writes y[i] and, for MAX, arg[i] = the first bottom holding the maximum. GATHER.
template <class T>
CREMA_HD inline void eltwise_forward(int64_t i, const EltwiseArgs& a, const T* const* x,
                                     const T* coeff, T* y, int32_t* arg) {
  switch (a.op) {
    case EltwiseOp::kProd: {
      T p = x[0][i];
      for (int b = 1; b < a.num_bottoms; ++b) p *= x[b][i];
      y[i] = p;
      break;
    }
    case EltwiseOp::kSum: {
      T s = coeff[0] * x[0][i];
      for (int b = 1; b < a.num_bottoms; ++b) s += coeff[b] * x[b][i];
      y[i] = s;
      break;
    }
    case EltwiseOp::kMax: {
      T m = x[0][i];
      int32_t k = 0;
      // Strict comparison: ties go to the earliest bottom.
      for (int b = 1; b < a.num_bottoms; ++b) {
        if (x[b][i] > m) m = x[b][i], k = b;
      }
      y[i] = m;
      arg[i] = k;
      break;
    }
  }
}

// Work item i: one element of bottom `b`'s gradient. Reads dy[i] and, by op, the inputs x[*][i]
// (PROD), y[i] (unstable PROD), coeff[b] (SUM) or arg[i] (MAX); writes dx[i]. GATHER.
template <class T>
CREMA_HD inline void eltwise_backward(int64_t i, const EltwiseArgs& a, int b, const T* const* x,
                                      const T* coeff, const T* y, const T* dy, const int32_t* arg,
                                      T* dx) {
  switch (a.op) {
    case EltwiseOp::kProd: {
      if (a.stable_prod_grad) {
        T p = T(1);
        for (int j = 0; j < a.num_bottoms; ++j) {
          if (j != b) p *= x[j][i];
        }
        dx[i] = dy[i] * p;
      } else {
        dx[i] = dy[i] * y[i] / x[b][i];
      }
      break;
    }
    case EltwiseOp::kSum:
      dx[i] = coeff[b] * dy[i];
      break;
    case EltwiseOp::kMax:
      dx[i] = arg[i] == b ? dy[i] : T(0);
      break;
  }
}

}  // namespace crema::kernels

namespace crema::cuda {

/// Launchers of the bodies above (cuda_kernels/eltwise.cu; CUDA builds only).
template <class T>
void launch_eltwise_forward(Stream s, int64_t n, const kernels::EltwiseArgs& a, const T* const* x,
                            const T* coeff, T* y, int32_t* arg);
template <class T>
void launch_eltwise_backward(Stream s, int64_t n, const kernels::EltwiseArgs& a, int b,
                             const T* const* x, const T* coeff, const T* y, const T* dy,
                             const int32_t* arg, T* dx);

}  // namespace crema::cuda
