/// Naive Reduction reference.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace crema::ref {

struct ReductionResult {
  std::vector<double> y;
  std::vector<double> dx;  ///< for dy = the given top diff
};

/// op is "SUM", "ASUM", "SUMSQ" or "MEAN"; reduces axes [axis, end) of each of the `num`
/// leading blocks; y scaled by coeff.
inline ReductionResult reduction(const std::vector<double>& x, int64_t num, const std::string& op,
                                 double coeff, const std::vector<double>& dy) {
  ReductionResult r;
  const int64_t dim = static_cast<int64_t>(x.size()) / num;
  r.dx.assign(x.size(), 0.0);
  for (int64_t i = 0; i < num; ++i) {
    double s = 0;
    for (int64_t j = 0; j < dim; ++j) {
      const double v = x[i * dim + j];
      double g = 1;
      if (op == "ASUM") {
        s += std::fabs(v);
        g = v > 0 ? 1 : (v < 0 ? -1 : 0);
      } else if (op == "SUMSQ") {
        s += v * v;
        g = 2 * v;
      } else {
        s += v;
      }
      if (op == "MEAN") g /= static_cast<double>(dim);
      r.dx[i * dim + j] = coeff * g * dy[i];
    }
    if (op == "MEAN") s /= static_cast<double>(dim);
    r.y.push_back(coeff * s);
  }
  return r;
}

}  // namespace crema::ref
