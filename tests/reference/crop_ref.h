/// Naive Crop reference over full N-d indices.
#pragma once

#include <cstdint>
#include <vector>

namespace crema::ref {

struct CropResult {
  std::vector<int64_t> top_shape;
  std::vector<double> y;
};

/// Crops x to ref_shape on axes >= axis at per-axis offsets `offsets` (one per axis of x;
/// zero before `axis`).
inline CropResult crop_forward(const std::vector<double>& x, const std::vector<int64_t>& shape,
                               const std::vector<int64_t>& ref_shape, int axis,
                               const std::vector<int64_t>& offsets) {
  const int na = static_cast<int>(shape.size());
  CropResult r;
  r.top_shape = shape;
  for (int a = axis; a < na; ++a) r.top_shape[a] = ref_shape[a];
  int64_t n = 1;
  for (int64_t d : r.top_shape) n *= d;
  r.y.assign(n, 0.0);
  std::vector<int64_t> idx(na);
  for (int64_t flat = 0; flat < n; ++flat) {
    int64_t rest = flat;
    for (int a = na - 1; a >= 0; --a) idx[a] = rest % r.top_shape[a], rest /= r.top_shape[a];
    int64_t src = 0;
    for (int a = 0; a < na; ++a) src = src * shape[a] + idx[a] + offsets[a];
    r.y[flat] = x[src];
  }
  return r;
}

/// The gradient of crop_forward: dy scattered into a zero tensor of x's shape.
inline std::vector<double> crop_backward(const std::vector<double>& dy,
                                         const std::vector<int64_t>& shape,
                                         const std::vector<int64_t>& top_shape,
                                         const std::vector<int64_t>& offsets) {
  const int na = static_cast<int>(shape.size());
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  std::vector<double> dx(n, 0.0);
  std::vector<int64_t> idx(na);
  for (size_t flat = 0; flat < dy.size(); ++flat) {
    int64_t rest = static_cast<int64_t>(flat);
    for (int a = na - 1; a >= 0; --a) idx[a] = rest % top_shape[a], rest /= top_shape[a];
    int64_t dst = 0;
    for (int a = 0; a < na; ++a) dst = dst * shape[a] + idx[a] + offsets[a];
    dx[dst] += dy[flat];
  }
  return dx;
}

}  // namespace crema::ref
