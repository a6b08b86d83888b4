/// Naive Embed reference.
#pragma once

#include <cstdint>
#include <vector>

namespace crema::ref {

struct EmbedResult {
  std::vector<double> y;   ///< M x N
  std::vector<double> dw;  ///< K x N, for top diff dy
  std::vector<double> db;  ///< N
};

/// y[m, n] = w[index[m], n] + b[n] (b empty: no bias); dw[k, n] = sum over m with index k of
/// dy[m, n]; db[n] = sum over m of dy[m, n].
inline EmbedResult embed(const std::vector<double>& index, const std::vector<double>& w,
                         const std::vector<double>& b, int64_t k, int64_t n,
                         const std::vector<double>& dy) {
  EmbedResult r;
  const int64_t m = static_cast<int64_t>(index.size());
  r.dw.assign(k * n, 0.0);
  r.db.assign(n, 0.0);
  for (int64_t i = 0; i < m; ++i) {
    const auto row = static_cast<int64_t>(index[i]);
    for (int64_t d = 0; d < n; ++d) {
      r.y.push_back(w[row * n + d] + (b.empty() ? 0.0 : b[d]));
      r.dw[row * n + d] += dy[i * n + d];
      r.db[d] += dy[i * n + d];
    }
  }
  return r;
}

}  // namespace crema::ref
