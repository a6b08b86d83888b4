/// Naive Concat reference: walks every output element by its full index.
#pragma once

#include <cstdint>
#include <vector>

namespace crema::ref {

/// Concatenates bottoms (data pointers with their shapes) along `axis` (already canonical).
template <class T>
std::vector<double> concat_forward(const std::vector<const T*>& x,
                                   const std::vector<std::vector<int64_t>>& shapes, int axis) {
  std::vector<int64_t> out = shapes[0];
  out[axis] = 0;
  for (const auto& s : shapes) out[axis] += s[axis];
  int64_t total = 1;
  for (int64_t d : out) total *= d;
  std::vector<double> y(total);
  const int na = static_cast<int>(out.size());
  std::vector<int64_t> idx(na, 0);
  for (int64_t flat = 0; flat < total; ++flat) {
    // Decompose flat into a full index (row-major).
    int64_t r = flat;
    for (int a = na - 1; a >= 0; --a) idx[a] = r % out[a], r /= out[a];
    // Find the bottom that owns idx[axis] and its local position.
    int64_t k = idx[axis];
    size_t b = 0;
    while (k >= shapes[b][axis]) k -= shapes[b][axis], ++b;
    int64_t src = 0;
    for (int a = 0; a < na; ++a) src = src * shapes[b][a] + (a == axis ? k : idx[a]);
    y[flat] = x[b][src];
  }
  return y;
}

}  // namespace crema::ref
