/// Naive InfogainLoss reference: its own softmax, then the H-weighted cross entropy.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace crema::ref {

enum class InfogainNorm { kFull, kValid, kBatchSize, kNone };

struct InfogainResult {
  double loss = 0;
  std::vector<double> prob;
  std::vector<double> grad;  ///< for loss weight 1
};

/// Scores x of `shape`, class axis `axis`, labels per (outer, inner) position, H row-major
/// C x C. The gradient is derived directly: d/dx_m of -sum_l H[k,l] log p_l is
/// -H[k,m] + p_m sum_l H[k,l] (with no probability below the 1e-20 clamp).
inline InfogainResult infogain_loss(const std::vector<double>& x, const std::vector<int64_t>& shape,
                                    int axis, const std::vector<double>& labels,
                                    const std::vector<double>& h, InfogainNorm norm,
                                    bool has_ignore, int ignore) {
  int64_t outer = 1, inner = 1;
  for (int a = 0; a < axis; ++a) outer *= shape[a];
  for (size_t a = axis + 1; a < shape.size(); ++a) inner *= shape[a];
  const int64_t c = shape[axis];
  InfogainResult r;
  r.prob.assign(x.size(), 0.0);
  r.grad.assign(x.size(), 0.0);
  double sum = 0;
  int64_t valid = 0;
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t s = 0; s < inner; ++s) {
      auto at = [&](int64_t l) { return (o * c + l) * inner + s; };
      double mx = x[at(0)];
      for (int64_t l = 1; l < c; ++l) mx = std::max(mx, x[at(l)]);
      double z = 0;
      for (int64_t l = 0; l < c; ++l) z += std::exp(x[at(l)] - mx);
      for (int64_t l = 0; l < c; ++l) r.prob[at(l)] = std::exp(x[at(l)] - mx) / z;
      const double lab = labels[o * inner + s];
      if (has_ignore && lab == ignore) continue;
      const auto k = static_cast<int64_t>(lab);
      ++valid;
      double row = 0;
      for (int64_t l = 0; l < c; ++l) {
        sum -= h[k * c + l] * std::log(std::max(r.prob[at(l)], 1e-20));
        row += h[k * c + l];
      }
      for (int64_t l = 0; l < c; ++l) r.grad[at(l)] = r.prob[at(l)] * row - h[k * c + l];
    }
  }
  double normalizer = 1;
  if (norm == InfogainNorm::kFull) normalizer = static_cast<double>(outer * inner);
  if (norm == InfogainNorm::kValid) normalizer = static_cast<double>(valid);
  if (norm == InfogainNorm::kBatchSize) normalizer = static_cast<double>(outer);
  normalizer = std::max(1.0, normalizer);
  r.loss = sum / normalizer;
  for (double& g : r.grad) g /= normalizer;
  return r;
}

}  // namespace crema::ref
