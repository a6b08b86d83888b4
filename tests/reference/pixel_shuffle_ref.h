/// Naive PixelShuffle references: depth-to-space and zero-upsampling, with their adjoints,
/// written per output element from the definitions.
#pragma once

#include <cstdint>
#include <vector>

namespace crema::ref {

struct PixelShuffleResult {
  std::vector<double> y, dx;
};

/// x: (n, in_c, h, w) with in_c = c * r * r (shuffle) or c (zero_upsample); dy: (n, c, r h, r w).
template <class T>
PixelShuffleResult pixel_shuffle(const T* x, const T* dy, int64_t n, int64_t c, int64_t h,
                                 int64_t w, int64_t r, bool zero_upsample) {
  const int64_t in_c = zero_upsample ? c : c * r * r;
  PixelShuffleResult res;
  res.y.assign(n * c * h * r * w * r, 0.0);
  res.dx.assign(n * in_c * h * w, 0.0);
  for (int64_t b = 0; b < n; ++b)
    for (int64_t k = 0; k < c; ++k)
      for (int64_t oh = 0; oh < h * r; ++oh)
        for (int64_t ow = 0; ow < w * r; ++ow) {
          const int64_t out = ((b * c + k) * h * r + oh) * w * r + ow;
          int64_t src;
          if (zero_upsample) {
            if (oh % r != 0 || ow % r != 0) continue;  // zeros off the block corners
            src = ((b * c + k) * h + oh / r) * w + ow / r;
          } else {
            const int64_t ic = k * r * r + (oh % r) * r + ow % r;
            src = ((b * in_c + ic) * h + oh / r) * w + ow / r;
          }
          res.y[out] = x[src];
          res.dx[src] += dy[out];
        }
  return res;
}

}  // namespace crema::ref
