/// Naive RoIAlign reference with torchvision.ops.roi_align semantics (double precision, scatter
/// backward).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace crema::ref {

struct RoiAlignResult {
  std::vector<double> y;   ///< R x C x PH x PW
  std::vector<double> dx;  ///< N x C x H x W, from dy
};

struct RoiAlignParams {
  int64_t ph = 1, pw = 1;
  double scale = 1;
  int sampling_ratio = 0;
  bool aligned = false;
};

template <class T>
RoiAlignResult roi_align(const T* x, int64_t n, int64_t c, int64_t h, int64_t w, const T* rois,
                         int64_t r, const RoiAlignParams& p, const T* dy) {
  RoiAlignResult res{std::vector<double>(r * c * p.ph * p.pw, 0.0),
                     std::vector<double>(n * c * h * w, 0.0)};
  const double off = p.aligned ? 0.5 : 0.0;
  for (int64_t k = 0; k < r; ++k) {
    const T* roi = rois + 5 * k;
    const int64_t b = static_cast<int64_t>(roi[0]);
    const double sx = roi[1] * p.scale - off, sy = roi[2] * p.scale - off;
    double rw = roi[3] * p.scale - off - sx, rh = roi[4] * p.scale - off - sy;
    if (!p.aligned) {
      rw = std::max(rw, 1.0);
      rh = std::max(rh, 1.0);
    }
    const double bh = rh / p.ph, bw = rw / p.pw;
    const int64_t gh =
        p.sampling_ratio > 0 ? p.sampling_ratio : static_cast<int64_t>(std::ceil(rh / p.ph));
    const int64_t gw =
        p.sampling_ratio > 0 ? p.sampling_ratio : static_cast<int64_t>(std::ceil(rw / p.pw));
    const double count = std::max<int64_t>(gh * gw, 1);
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t i = 0; i < p.ph; ++i)
        for (int64_t j = 0; j < p.pw; ++j) {
          const int64_t o = ((k * c + ch) * p.ph + i) * p.pw + j;
          double sum = 0;
          for (int64_t iy = 0; iy < gh; ++iy)
            for (int64_t ix = 0; ix < gw; ++ix) {
              double yy = sy + i * bh + (iy + 0.5) * bh / gh;
              double xx = sx + j * bw + (ix + 0.5) * bw / gw;
              if (yy < -1 || yy > h || xx < -1 || xx > w) continue;
              yy = std::max(yy, 0.0);
              xx = std::max(xx, 0.0);
              int64_t y0 = static_cast<int64_t>(yy), x0 = static_cast<int64_t>(xx);
              int64_t y1 = y0 + 1, x1 = x0 + 1;
              if (y0 >= h - 1) {
                y0 = y1 = h - 1;
                yy = static_cast<double>(y0);
              }
              if (x0 >= w - 1) {
                x0 = x1 = w - 1;
                xx = static_cast<double>(x0);
              }
              const double ly = yy - y0, lx = xx - x0;
              const int64_t pos[4] = {y0 * w + x0, y0 * w + x1, y1 * w + x0, y1 * w + x1};
              const double wt[4] = {(1 - ly) * (1 - lx), (1 - ly) * lx, ly * (1 - lx), ly * lx};
              const int64_t plane = (b * c + ch) * h * w;
              for (int q = 0; q < 4; ++q) {
                sum += wt[q] * x[plane + pos[q]];
                res.dx[plane + pos[q]] += dy[o] * wt[q] / count;
              }
            }
          res.y[o] = sum / count;
        }
  }
  return res;
}

}  // namespace crema::ref
