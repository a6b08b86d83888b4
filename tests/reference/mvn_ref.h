/// Naive MVN reference in double: forward from the definition, backward from the full
/// Jacobian of each normalized group.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

namespace crema::ref {

struct MvnResult {
  std::vector<double> y, dx;
};

/// x and dy hold `groups` consecutive groups of `dim` values, each normalized on its own:
/// y = (x - mean) / (sqrt(var) + eps), or x - mean without normalize_variance.
template <class T>
MvnResult mvn(const T* x, const T* dy, int64_t groups, int64_t dim, bool normalize_variance,
              double eps) {
  MvnResult r;
  r.y.resize(groups * dim);
  r.dx.resize(groups * dim);
  for (int64_t g = 0; g < groups; ++g) {
    const T* xg = x + g * dim;
    double mean = 0;
    for (int64_t i = 0; i < dim; ++i) mean += xg[i];
    mean /= dim;
    double var = 0;
    for (int64_t i = 0; i < dim; ++i) var += (xg[i] - mean) * (xg[i] - mean);
    var /= dim;
    const double s = std::sqrt(var);
    const double denom = normalize_variance ? s + eps : 1.0;
    for (int64_t i = 0; i < dim; ++i) r.y[g * dim + i] = (xg[i] - mean) / denom;
    // dy_i/dx_j = ([i == j] - 1/dim) / denom - (x_i - mean) / denom^2 * ds/dx_j,
    // ds/dx_j = (x_j - mean) / (dim * s) (only with normalize_variance).
    for (int64_t j = 0; j < dim; ++j) {
      double sum = 0;
      for (int64_t i = 0; i < dim; ++i) {
        double d = ((i == j ? 1.0 : 0.0) - 1.0 / dim) / denom;
        if (normalize_variance && s > 0)
          d -= (xg[i] - mean) / (denom * denom) * (xg[j] - mean) / (dim * s);
        sum += dy[g * dim + i] * d;
      }
      r.dx[g * dim + j] = sum;
    }
  }
  return r;
}

}  // namespace crema::ref
