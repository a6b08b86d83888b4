/// Naive GBD-Net ROIMaskPooling reference (double precision, scatter backward), from the
/// caffe-GBD spec with the intended masking: masked positions read as 0 and take no gradient.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace crema::ref {

struct RoiMaskPoolResult {
  std::vector<double> y;   ///< R x C x PH x PW
  std::vector<double> dx;  ///< N x C x H x W, from dy
};

struct RoiMaskPoolParams {
  int64_t ph = 1, pw = 1;
  double scale = 1, shift = 0;
  int half_part = 0;
  double roi_scale = 1, mask_scale = 0;
};

inline int64_t round_half_away(double v) {
  return static_cast<int64_t>(v < 0 ? -std::floor(-v + 0.5) : std::floor(v + 0.5));
}

template <class T>
RoiMaskPoolResult roi_mask_pool(const T* x, int64_t n, int64_t c, int64_t h, int64_t w,
                                const T* rois, int64_t r, const RoiMaskPoolParams& p, const T* dy) {
  RoiMaskPoolResult res{std::vector<double>(r * c * p.ph * p.pw, 0.0),
                        std::vector<double>(n * c * h * w, 0.0)};
  for (int64_t k = 0; k < r; ++k) {
    const T* roi = rois + 5 * k;
    const int64_t b = static_cast<int64_t>(roi[0]);
    const double cx = (double(roi[1]) + roi[3]) / 2, cy = (double(roi[2]) + roi[4]) / 2;
    const double bw = double(roi[3]) - roi[1], bh = double(roi[4]) - roi[2];
    double left = cx - bw * p.roi_scale / 2, right = cx + bw * p.roi_scale / 2;
    double top = cy - bh * p.roi_scale / 2, bottom = cy + bh * p.roi_scale / 2;
    if (p.half_part == 1) right = cx;
    if (p.half_part == 2) left = cx;
    if (p.half_part == 3) bottom = cy;
    if (p.half_part == 4) top = cy;
    const int64_t x1 = round_half_away(left * p.scale + p.shift);
    const int64_t x2 = round_half_away(right * p.scale + p.shift);
    const int64_t y1 = round_half_away(top * p.scale + p.shift);
    const int64_t y2 = round_half_away(bottom * p.scale + p.shift);
    const int64_t mx1 = round_half_away((cx - bw * p.mask_scale / 2) * p.scale + p.shift);
    const int64_t mx2 = round_half_away((cx + bw * p.mask_scale / 2) * p.scale + p.shift);
    const int64_t my1 = round_half_away((cy - bh * p.mask_scale / 2) * p.scale + p.shift);
    const int64_t my2 = round_half_away((cy + bh * p.mask_scale / 2) * p.scale + p.shift);
    const double rw = static_cast<double>(std::max<int64_t>(x2 - x1 + 1, 1));
    const double rh = static_cast<double>(std::max<int64_t>(y2 - y1 + 1, 1));
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t i = 0; i < p.ph; ++i)
        for (int64_t j = 0; j < p.pw; ++j) {
          const int64_t hs =
              std::clamp(static_cast<int64_t>(std::floor(i * rh / p.ph)) + y1, int64_t{0}, h);
          const int64_t he =
              std::clamp(static_cast<int64_t>(std::ceil((i + 1) * rh / p.ph)) + y1, int64_t{0}, h);
          const int64_t ws =
              std::clamp(static_cast<int64_t>(std::floor(j * rw / p.pw)) + x1, int64_t{0}, w);
          const int64_t we =
              std::clamp(static_cast<int64_t>(std::ceil((j + 1) * rw / p.pw)) + x1, int64_t{0}, w);
          const int64_t o = ((k * c + ch) * p.ph + i) * p.pw + j;
          bool any = false;
          double best = 0;
          int64_t at = -1;
          for (int64_t yy = hs; yy < he; ++yy)
            for (int64_t xx = ws; xx < we; ++xx) {
              const bool masked =
                  p.mask_scale > 0 && yy >= my1 && yy <= my2 && xx >= mx1 && xx <= mx2;
              const int64_t idx = ((b * c + ch) * h + yy) * w + xx;
              const double v = masked ? 0.0 : static_cast<double>(x[idx]);
              if (!any || v > best) {
                best = v;
                at = masked ? -1 : idx;
                any = true;
              }
            }
          res.y[o] = best;
          if (at >= 0) res.dx[at] += dy[o];
        }
  }
  return res;
}

}  // namespace crema::ref
