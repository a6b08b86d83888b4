/// Naive Scale / Bias oracle: every output element looks up its factor by its multi-index.
#pragma once

#include <cstdint>
#include <vector>

namespace crema::ref {

/// Index into a factor of shape shape[axis, axis + k) for the element at flat index i of a
/// tensor of shape `shape`.
inline int64_t factor_index(int64_t i, const std::vector<int64_t>& shape, int axis, int k) {
  std::vector<int64_t> idx(shape.size());
  for (int d = static_cast<int>(shape.size()) - 1; d >= 0; --d) {
    idx[d] = i % shape[d];
    i /= shape[d];
  }
  int64_t f = 0;
  for (int d = axis; d < axis + k; ++d) f = f * shape[d] + idx[d];
  return f;
}

/// y = x * s[.] (+ b[.]) with s (and b) covering axes [axis, axis + k) of x's shape; s or b may
/// be null (factor 1 / no bias).
template <class T>
std::vector<double> scale_bias(const T* x, const std::vector<int64_t>& shape, int axis, int k,
                               const T* s, const T* b) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  std::vector<double> y(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const int64_t f = factor_index(i, shape, axis, k);
    double v = x[i];
    if (s != nullptr) v *= s[f];
    if (b != nullptr) v += b[f];
    y[static_cast<size_t>(i)] = v;
  }
  return y;
}

}  // namespace crema::ref
