/// Naive Accuracy oracle: ranks the classes by sorting, ties placed before the true class.
#pragma once

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "tests/reference/softmax_ref.h"

namespace crema::ref {

struct AccuracyResult {
  double accuracy = 0;
  std::vector<double> per_class;
};

inline AccuracyResult accuracy(const std::vector<double>& x, const std::vector<double>& labels,
                               const std::vector<int64_t>& shape, int axis, int64_t top_k,
                               bool has_ignore, int ignore) {
  const AxisSplit s = split_at_axis(shape, axis);
  std::vector<double> hits(s.channels, 0), counts(s.channels, 0);
  double total_hits = 0, total = 0;
  for (int64_t o = 0; o < s.outer; ++o) {
    for (int64_t j = 0; j < s.inner; ++j) {
      const double l = labels[o * s.inner + j];
      if (has_ignore && l == ignore) continue;
      const auto label = static_cast<int64_t>(l);
      // Sort descending by score; among equal scores the true class goes last (pessimistic).
      std::vector<std::pair<double, int64_t>> ranked;
      for (int64_t c = 0; c < s.channels; ++c)
        ranked.push_back({x[(o * s.channels + c) * s.inner + j], c});
      std::sort(ranked.begin(), ranked.end(), [&](const auto& p, const auto& q) {
        if (p.first != q.first) return p.first > q.first;
        return (p.second != label) && (q.second == label);
      });
      int64_t rank = 0;
      while (ranked[rank].second != label) ++rank;
      const bool hit = rank < top_k;
      total += 1, counts[label] += 1;
      total_hits += hit, hits[label] += hit;
    }
  }
  AccuracyResult r;
  r.accuracy = total == 0 ? 0 : total_hits / total;
  for (int64_t c = 0; c < s.channels; ++c)
    r.per_class.push_back(counts[c] == 0 ? 0 : hits[c] / counts[c]);
  return r;
}

}  // namespace crema::ref
