/// Naive Slice reference: every bottom element is sent to the top owning its axis coordinate.
#pragma once

#include <cstdint>
#include <vector>

namespace crema::ref {

/// Splits x (shape `shape`) along `axis` (canonical) into parts of the given sizes.
inline std::vector<std::vector<double>> slice_forward(const std::vector<double>& x,
                                                      const std::vector<int64_t>& shape, int axis,
                                                      const std::vector<int64_t>& sizes) {
  const int na = static_cast<int>(shape.size());
  std::vector<std::vector<int64_t>> top_shapes;
  std::vector<std::vector<double>> tops;
  for (int64_t s : sizes) {
    std::vector<int64_t> ts = shape;
    ts[axis] = s;
    int64_t n = 1;
    for (int64_t d : ts) n *= d;
    top_shapes.push_back(ts);
    tops.emplace_back(n, 0.0);
  }
  std::vector<int64_t> idx(na, 0);
  for (size_t flat = 0; flat < x.size(); ++flat) {
    int64_t r = static_cast<int64_t>(flat);
    for (int a = na - 1; a >= 0; --a) idx[a] = r % shape[a], r /= shape[a];
    int64_t k = idx[axis];
    size_t t = 0;
    while (k >= sizes[t]) k -= sizes[t], ++t;
    int64_t dst = 0;
    for (int a = 0; a < na; ++a) dst = dst * top_shapes[t][a] + (a == axis ? k : idx[a]);
    tops[t][dst] = x[flat];
  }
  return tops;
}

}  // namespace crema::ref
