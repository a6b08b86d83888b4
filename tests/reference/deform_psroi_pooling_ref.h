/// Naive forward references for DeformablePSROIPooling (Deformable-ConvNets' conventions) and
/// DeformRoIPooling (mmcv's), written from the papers' formulas with plain loops in double.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace crema::ref {

struct DeformPSRoIRef {
  int64_t n, c, h, w;  // features
  int64_t output_dim, group, pooled, part, samples;
  double scale, trans_std;
  int64_t classes;  // 0 = no offsets
};

// Deformable-ConvNets: rounded corners, end + 1, sizes >= 0.1, samples at start + i*bin/S,
// samples outside [-0.5, size - 0.5] skipped, the rest clamped and read with floor/ceil.
inline std::vector<double> deform_psroi_pooling_ref(const DeformPSRoIRef& p,
                                                    const std::vector<double>& x,
                                                    const std::vector<double>& rois,
                                                    const std::vector<double>& trans) {
  const int64_t R = static_cast<int64_t>(rois.size()) / 5, P = p.pooled;
  std::vector<double> y(R * p.output_dim * P * P, 0.0);
  auto pix = [&](int64_t b, int64_t ch, int64_t yy, int64_t xx) {
    return x[((b * p.c + ch) * p.h + yy) * p.w + xx];
  };
  for (int64_t r = 0; r < R; ++r) {
    const double* roi = &rois[r * 5];
    const int64_t b = static_cast<int64_t>(roi[0]);
    const double sx = std::round(roi[1]) * p.scale - 0.5;
    const double sy = std::round(roi[2]) * p.scale - 0.5;
    const double rw = std::max((std::round(roi[3]) + 1) * p.scale - 0.5 - sx, 0.1);
    const double rh = std::max((std::round(roi[4]) + 1) * p.scale - 0.5 - sy, 0.1);
    for (int64_t c = 0; c < p.output_dim; ++c) {
      for (int64_t ph = 0; ph < P; ++ph) {
        for (int64_t pw = 0; pw < P; ++pw) {
          double tx = 0, ty = 0;
          if (p.classes > 0) {
            const int64_t k = c / (p.output_dim / p.classes);
            const int64_t cy = static_cast<int64_t>(std::floor(double(ph) * p.part / P));
            const int64_t cx = static_cast<int64_t>(std::floor(double(pw) * p.part / P));
            tx = trans[(((r * p.classes + k) * 2) * p.part + cy) * p.part + cx] * p.trans_std;
            ty = trans[(((r * p.classes + k) * 2 + 1) * p.part + cy) * p.part + cx] * p.trans_std;
          }
          const double bw = rw / P, bh = rh / P;
          const double x0 = sx + pw * bw + tx * rw, y0 = sy + ph * bh + ty * rh;
          int64_t gh = static_cast<int64_t>(std::floor(double(ph) * p.group / P));
          int64_t gw = static_cast<int64_t>(std::floor(double(pw) * p.group / P));
          gh = std::min(std::max<int64_t>(gh, 0), p.group - 1);
          gw = std::min(std::max<int64_t>(gw, 0), p.group - 1);
          const int64_t ch = (c * p.group + gh) * p.group + gw;
          double sum = 0;
          int count = 0;
          for (int64_t iy = 0; iy < p.samples; ++iy) {
            for (int64_t ix = 0; ix < p.samples; ++ix) {
              double xs = x0 + ix * bw / p.samples, ys = y0 + iy * bh / p.samples;
              if (xs < -0.5 || xs > p.w - 0.5 || ys < -0.5 || ys > p.h - 0.5) continue;
              xs = std::min(std::max(xs, 0.0), double(p.w - 1));
              ys = std::min(std::max(ys, 0.0), double(p.h - 1));
              const int64_t x1 = std::floor(xs), x2 = std::ceil(xs);
              const int64_t y1 = std::floor(ys), y2 = std::ceil(ys);
              const double dx = xs - x1, dy = ys - y1;
              sum += (1 - dx) * (1 - dy) * pix(b, ch, y1, x1) + (1 - dx) * dy * pix(b, ch, y2, x1) +
                     dx * (1 - dy) * pix(b, ch, y1, x2) + dx * dy * pix(b, ch, y2, x2);
              ++count;
            }
          }
          y[((r * p.output_dim + c) * P + ph) * P + pw] = count ? sum / count : 0.0;
        }
      }
    }
  }
  return y;
}

struct DeformRoIMmcvRef {
  int64_t n, c, h, w;
  int64_t ph, pw;
  double scale, gamma;
  int64_t ratio;  // <= 0: adaptive
  bool offsets;
};

// mmcv's bilinear_interpolate: 0 outside [-1, size]; y <= 0 reads row 0; a floor >= size - 1
// reads the last row only.
inline double mmcv_bilinear_ref(const double* plane, int64_t H, int64_t W, double y, double x) {
  if (y < -1.0 || y > H || x < -1.0 || x > W) return 0.0;
  if (y <= 0) y = 0;
  if (x <= 0) x = 0;
  int64_t y_low = static_cast<int64_t>(y), x_low = static_cast<int64_t>(x), y_high, x_high;
  if (y_low >= H - 1) {
    y_high = y_low = H - 1;
    y = double(y_low);
  } else {
    y_high = y_low + 1;
  }
  if (x_low >= W - 1) {
    x_high = x_low = W - 1;
    x = double(x_low);
  } else {
    x_high = x_low + 1;
  }
  const double ly = y - y_low, lx = x - x_low, hy = 1 - ly, hx = 1 - lx;
  return hy * hx * plane[y_low * W + x_low] + hy * lx * plane[y_low * W + x_high] +
         ly * hx * plane[y_high * W + x_low] + ly * lx * plane[y_high * W + x_high];
}

inline std::vector<double> deform_roi_pooling_mmcv_ref(const DeformRoIMmcvRef& p,
                                                       const std::vector<double>& x,
                                                       const std::vector<double>& rois,
                                                       const std::vector<double>& offset) {
  const int64_t R = static_cast<int64_t>(rois.size()) / 5;
  std::vector<double> y(R * p.c * p.ph * p.pw, 0.0);
  for (int64_t r = 0; r < R; ++r) {
    const double* roi = &rois[r * 5];
    const int64_t b = static_cast<int64_t>(roi[0]);
    const double sx = roi[1] * p.scale - 0.5, sy = roi[2] * p.scale - 0.5;
    const double rw = roi[3] * p.scale - 0.5 - sx, rh = roi[4] * p.scale - 0.5 - sy;
    const double bw = rw / p.pw, bh = rh / p.ph;
    const int64_t gy = p.ratio > 0 ? p.ratio : static_cast<int64_t>(std::ceil(rh / p.ph));
    const int64_t gx = p.ratio > 0 ? p.ratio : static_cast<int64_t>(std::ceil(rw / p.pw));
    for (int64_t c = 0; c < p.c; ++c) {
      const double* plane = &x[(b * p.c + c) * p.h * p.w];
      for (int64_t ph = 0; ph < p.ph; ++ph) {
        for (int64_t pw = 0; pw < p.pw; ++pw) {
          double ox = 0, oy = 0;
          if (p.offsets) {
            ox = p.gamma * rw * offset[((r * 2 + 0) * p.ph + ph) * p.pw + pw];
            oy = p.gamma * rh * offset[((r * 2 + 1) * p.ph + ph) * p.pw + pw];
          }
          double sum = 0;
          for (int64_t iy = 0; iy < gy; ++iy)
            for (int64_t ix = 0; ix < gx; ++ix)
              sum += mmcv_bilinear_ref(plane, p.h, p.w, sy + oy + ph * bh + (iy + 0.5) * bh / gy,
                                       sx + ox + pw * bw + (ix + 0.5) * bw / gx);
          y[((r * p.c + c) * p.ph + ph) * p.pw + pw] = sum / std::max<int64_t>(gy * gx, 1);
        }
      }
    }
  }
  return y;
}

}  // namespace crema::ref
