/// Naive Eltwise reference: PROD, SUM with coefficients, MAX (first maximum wins).
#pragma once

#include <cstdint>
#include <vector>

namespace crema::ref {

enum class EltOp { kProd, kSum, kMax };

/// x[b][i] for bottoms b; coeff empty means all 1. Returns the output; `arg` gets MAX's argmax.
template <class T>
std::vector<double> eltwise_forward(const std::vector<const T*>& x, int64_t n, EltOp op,
                                    const std::vector<double>& coeff,
                                    std::vector<int>* arg = nullptr) {
  std::vector<double> y(n);
  if (arg) arg->assign(n, -1);
  for (int64_t i = 0; i < n; ++i) {
    double acc = op == EltOp::kProd ? 1.0 : 0.0;
    int best = -1;
    for (size_t b = 0; b < x.size(); ++b) {
      const double v = x[b][i];
      if (op == EltOp::kProd) acc *= v;
      if (op == EltOp::kSum) acc += (coeff.empty() ? 1.0 : coeff[b]) * v;
      if (op == EltOp::kMax && (best < 0 || v > acc)) acc = v, best = static_cast<int>(b);
    }
    y[i] = acc;
    if (arg && op == EltOp::kMax) (*arg)[i] = best;
  }
  return y;
}

/// Gradient for bottom b: SUM coeff * dy; PROD dy * product of the other inputs; MAX dy where
/// bottom b holds the (first) maximum.
template <class T>
std::vector<double> eltwise_backward(const std::vector<const T*>& x, const T* dy, int64_t n,
                                     EltOp op, const std::vector<double>& coeff, size_t b) {
  std::vector<int> arg;
  if (op == EltOp::kMax) eltwise_forward(x, n, op, coeff, &arg);
  std::vector<double> dx(n);
  for (int64_t i = 0; i < n; ++i) {
    const double g = dy[i];
    if (op == EltOp::kSum) {
      dx[i] = (coeff.empty() ? 1.0 : coeff[b]) * g;
    } else if (op == EltOp::kProd) {
      double p = 1.0;
      for (size_t j = 0; j < x.size(); ++j)
        if (j != b) p *= x[j][i];
      dx[i] = g * p;
    } else {
      dx[i] = arg[i] == static_cast<int>(b) ? g : 0.0;
    }
  }
  return dx;
}

}  // namespace crema::ref
