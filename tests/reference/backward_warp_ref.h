/// Naive backward-warp reference: out(p) = sum over the corners q of floor(s) of
/// M(s_x - q_x) M(s_y - q_y) in(q), s = p + flow(p), M(t) = max(0, 1 - |t|), in double, with
/// the adjoint for the input and the derivative (right-sided at integers) for the flow.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace crema::ref {

struct WarpResult {
  std::vector<double> y, dx, dflow;
};

inline double hat(double t) { return std::max(0.0, 1.0 - std::fabs(t)); }
/// d hat(t) / dt, right-sided: -1 on [0, 1), +1 on [-1, 0), else 0.
inline double hat_slope(double t) {
  if (t >= 0 && t < 1) return -1;
  if (t >= -1 && t < 0) return 1;
  return 0;
}

/// x, dy: (n, c, h, w); flow: (n, 2, h, w).
template <class T>
WarpResult backward_warp(const T* x, const T* flow, const T* dy, int64_t n, int64_t c, int64_t h,
                         int64_t w, bool border) {
  WarpResult r;
  r.y.assign(n * c * h * w, 0.0);
  r.dx.assign(n * c * h * w, 0.0);
  r.dflow.assign(n * 2 * h * w, 0.0);
  for (int64_t b = 0; b < n; ++b)
    for (int64_t py = 0; py < h; ++py)
      for (int64_t px = 0; px < w; ++px) {
        double sx = px + double(flow[((b * 2 + 0) * h + py) * w + px]);
        double sy = py + double(flow[((b * 2 + 1) * h + py) * w + px]);
        if (!std::isfinite(sx) || !std::isfinite(sy)) continue;
        double cx = 1, cy = 1;  // derivative of the clamp
        if (border) {
          if (sx <= 0 || sx >= w - 1) cx = 0;
          if (sy <= 0 || sy >= h - 1) cy = 0;
          sx = std::min(std::max(sx, 0.0), double(w - 1));
          sy = std::min(std::max(sy, 0.0), double(h - 1));
        }
        if (std::fabs(sx) > 1e9 || std::fabs(sy) > 1e9) continue;  // nothing in reach
        const int64_t fx = static_cast<int64_t>(std::floor(sx));
        const int64_t fy = static_cast<int64_t>(std::floor(sy));
        for (int64_t qy = fy; qy <= fy + 1; ++qy)
          for (int64_t qx = fx; qx <= fx + 1; ++qx) {
            if (qx < 0 || qx >= w || qy < 0 || qy >= h) continue;
            const double wgt = hat(sx - qx) * hat(sy - qy);
            const double du = hat_slope(sx - qx) * hat(sy - qy) * cx;
            const double dv = hat(sx - qx) * hat_slope(sy - qy) * cy;
            for (int64_t k = 0; k < c; ++k) {
              const int64_t in = ((b * c + k) * h + qy) * w + qx;
              const int64_t out = ((b * c + k) * h + py) * w + px;
              r.y[out] += wgt * x[in];
              r.dx[in] += wgt * dy[out];
              r.dflow[((b * 2 + 0) * h + py) * w + px] += du * x[in] * dy[out];
              r.dflow[((b * 2 + 1) * h + py) * w + px] += dv * x[in] * dy[out];
            }
          }
      }
  return r;
}

}  // namespace crema::ref
