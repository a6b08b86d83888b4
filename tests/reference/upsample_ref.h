/// Naive nearest-neighbour upsampling reference in double; backward as a scatter.
#pragma once

#include <cstdint>
#include <vector>

namespace crema::ref {

struct UpsampleResult {
  std::vector<double> y, dx;
};

/// x is planes x H x W, dy is planes x (H * sh) x (W * sw).
template <class T>
UpsampleResult upsample(const T* x, const T* dy, int64_t planes, int64_t H, int64_t W, int64_t sh,
                        int64_t sw) {
  const int64_t OH = H * sh, OW = W * sw;
  UpsampleResult r;
  r.y.resize(planes * OH * OW);
  r.dx.assign(planes * H * W, 0.0);
  for (int64_t p = 0; p < planes; ++p)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t w = 0; w < W; ++w)
        for (int64_t a = 0; a < sh; ++a)
          for (int64_t b = 0; b < sw; ++b) {
            const int64_t o = (p * OH + h * sh + a) * OW + w * sw + b;
            const int64_t i = (p * H + h) * W + w;
            r.y[o] = x[i];
            r.dx[i] += dy[o];
          }
  return r;
}

}  // namespace crema::ref
