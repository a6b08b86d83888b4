/// Naive Fast R-CNN max RoI pooling reference (double precision, scatter backward).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace crema::ref {

struct RoiPoolResult {
  std::vector<double> y;      ///< R x C x PH x PW
  std::vector<double> dx;     ///< N x C x H x W, from dy
  std::vector<int64_t> from;  ///< per output: flat feature index of the max, or -1
};

/// rois: R rows of (batch, x1, y1, x2, y2); dy has the output's shape.
template <class T>
RoiPoolResult roi_pool(const T* x, int64_t n, int64_t c, int64_t h, int64_t w, const T* rois,
                       int64_t r, int64_t ph, int64_t pw, double scale, const T* dy) {
  RoiPoolResult res{std::vector<double>(r * c * ph * pw, 0.0),
                    std::vector<double>(n * c * h * w, 0.0),
                    std::vector<int64_t>(r * c * ph * pw, -1)};
  for (int64_t k = 0; k < r; ++k) {
    const int64_t b = static_cast<int64_t>(rois[5 * k]);
    const double x1 = std::round(rois[5 * k + 1] * scale), y1 = std::round(rois[5 * k + 2] * scale);
    const double x2 = std::round(rois[5 * k + 3] * scale), y2 = std::round(rois[5 * k + 4] * scale);
    const double rw = std::max(x2 - x1 + 1, 1.0), rh = std::max(y2 - y1 + 1, 1.0);
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t i = 0; i < ph; ++i)
        for (int64_t j = 0; j < pw; ++j) {
          int64_t hs = static_cast<int64_t>(std::floor(i * rh / ph) + y1);
          int64_t he = static_cast<int64_t>(std::ceil((i + 1) * rh / ph) + y1);
          int64_t ws = static_cast<int64_t>(std::floor(j * rw / pw) + x1);
          int64_t we = static_cast<int64_t>(std::ceil((j + 1) * rw / pw) + x1);
          hs = std::min(std::max<int64_t>(hs, 0), h);
          he = std::min(std::max<int64_t>(he, 0), h);
          ws = std::min(std::max<int64_t>(ws, 0), w);
          we = std::min(std::max<int64_t>(we, 0), w);
          const int64_t o = ((k * c + ch) * ph + i) * pw + j;
          double best = 0;
          int64_t at = -1;
          for (int64_t yy = hs; yy < he; ++yy)
            for (int64_t xx = ws; xx < we; ++xx) {
              const int64_t idx = ((b * c + ch) * h + yy) * w + xx;
              if (at < 0 || x[idx] > best) {
                best = x[idx];
                at = idx;
              }
            }
          res.y[o] = best;
          res.from[o] = at;
          if (at >= 0) res.dx[at] += dy[o];
        }
  }
  return res;
}

}  // namespace crema::ref
