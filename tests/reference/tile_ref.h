/// Naive Tile reference over full N-d indices.
#pragma once

#include <cstdint>
#include <vector>

namespace crema::ref {

/// Top shape: shape with axis multiplied by tiles; top element at index (.., t * shape[axis] +
/// c, rest) is x at (.., c, rest) — the whole block from axis on repeats.
inline std::vector<double> tile_forward(const std::vector<double>& x,
                                        const std::vector<int64_t>& shape, int axis,
                                        int64_t tiles) {
  const int na = static_cast<int>(shape.size());
  std::vector<int64_t> ts = shape;
  ts[axis] *= tiles;
  int64_t n = 1;
  for (int64_t d : ts) n *= d;
  std::vector<double> y(n);
  std::vector<int64_t> idx(na);
  for (int64_t flat = 0; flat < n; ++flat) {
    int64_t rest = flat;
    for (int a = na - 1; a >= 0; --a) idx[a] = rest % ts[a], rest /= ts[a];
    idx[axis] %= shape[axis];
    int64_t src = 0;
    for (int a = 0; a < na; ++a) src = src * shape[a] + idx[a];
    y[flat] = x[src];
  }
  return y;
}

/// The gradient: each bottom element sums the top elements that copied it.
inline std::vector<double> tile_backward(const std::vector<double>& dy,
                                         const std::vector<int64_t>& shape, int axis,
                                         int64_t tiles) {
  const int na = static_cast<int>(shape.size());
  std::vector<int64_t> ts = shape;
  ts[axis] *= tiles;
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  std::vector<double> dx(n, 0.0);
  std::vector<int64_t> idx(na);
  for (size_t flat = 0; flat < dy.size(); ++flat) {
    int64_t rest = static_cast<int64_t>(flat);
    for (int a = na - 1; a >= 0; --a) idx[a] = rest % ts[a], rest /= ts[a];
    idx[axis] %= shape[axis];
    int64_t dst = 0;
    for (int a = 0; a < na; ++a) dst = dst * shape[a] + idx[a];
    dx[dst] += dy[flat];
  }
  return dx;
}

}  // namespace crema::ref
