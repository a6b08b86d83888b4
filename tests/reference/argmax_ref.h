/// Naive ArgMax reference: sorts (value, index) pairs of each position.
#pragma once

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

namespace crema::ref {

struct ArgMaxResult {
  std::vector<int64_t> shape;
  std::vector<double> y;
};

/// The top_k pairs of `vals` ordered by value descending, ties by index descending.
inline std::vector<std::pair<double, int64_t>> top_pairs(const std::vector<double>& vals,
                                                         int64_t top_k) {
  std::vector<std::pair<double, int64_t>> p;
  for (size_t j = 0; j < vals.size(); ++j) p.emplace_back(vals[j], static_cast<int64_t>(j));
  std::sort(p.begin(), p.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second > b.second;
  });
  p.resize(top_k);
  return p;
}

/// With `axis` >= 0: the top has shape[axis] = top_k and holds values (out_max_val) or indices.
/// With axis < 0: every item n competes over all its values; the top is N x (1 or 2) x top_k
/// (padded with 1s to the bottom's number of axes, at least 3): indices, then values.
inline ArgMaxResult argmax(const std::vector<double>& x, const std::vector<int64_t>& shape,
                           int axis, int64_t top_k, bool out_max_val) {
  ArgMaxResult r;
  const int na = static_cast<int>(shape.size());
  if (axis < 0) {
    const int64_t n = shape[0];
    const int64_t dim = static_cast<int64_t>(x.size()) / n;
    r.shape.assign(std::max(na, 3), 1);
    r.shape[0] = n;
    r.shape[1] = out_max_val ? 2 : 1;
    r.shape[2] = top_k;
    for (int64_t i = 0; i < n; ++i) {
      const std::vector<double> vals(x.begin() + i * dim, x.begin() + (i + 1) * dim);
      const auto p = top_pairs(vals, top_k);
      for (int64_t k = 0; k < top_k; ++k) r.y.push_back(static_cast<double>(p[k].second));
      if (out_max_val)
        for (int64_t k = 0; k < top_k; ++k) r.y.push_back(p[k].first);
    }
    return r;
  }
  int64_t outer = 1, inner = 1;
  for (int a = 0; a < axis; ++a) outer *= shape[a];
  for (int a = axis + 1; a < na; ++a) inner *= shape[a];
  const int64_t dim = shape[axis];
  r.shape = shape;
  r.shape[axis] = top_k;
  r.y.assign(outer * top_k * inner, 0.0);
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t s = 0; s < inner; ++s) {
      std::vector<double> vals;
      for (int64_t j = 0; j < dim; ++j) vals.push_back(x[(o * dim + j) * inner + s]);
      const auto p = top_pairs(vals, top_k);
      for (int64_t k = 0; k < top_k; ++k)
        r.y[(o * top_k + k) * inner + s] =
            out_max_val ? p[k].first : static_cast<double>(p[k].second);
    }
  }
  return r;
}

}  // namespace crema::ref
