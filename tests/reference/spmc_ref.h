/// Naive SPMC reference (forward bilinear splatting, Tao et al. ICCV'17) in double: every LR
/// element adds J M(x^s - x_q) M(y^s - y_q) to the HR pixels q around (x^s, y^s) =
/// scale (p + flow(p)), M(t) = max(0, 1 - |t|); the image gradient is the adjoint, the flow
/// gradient scale J dy M' M (right-sided M' at integers).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace crema::ref {

struct SpmcResult {
  std::vector<double> y, dimage, dflow;
};

/// image: (n, c, h, w); flow: (n, 2, h, w); dy: (n, c, s h, s w).
template <class T>
SpmcResult spmc(const T* image, const T* flow, const T* dy, int64_t n, int64_t c, int64_t h,
                int64_t w, int64_t s) {
  const int64_t hh = s * h, ww = s * w;
  auto m = [](double t) { return std::max(0.0, 1.0 - std::fabs(t)); };
  auto m_slope = [](double t) { return t >= 0 && t < 1 ? -1.0 : (t >= -1 && t < 0 ? 1.0 : 0.0); };
  SpmcResult r;
  r.y.assign(n * c * hh * ww, 0.0);
  r.dimage.assign(n * c * h * w, 0.0);
  r.dflow.assign(n * 2 * h * w, 0.0);
  for (int64_t b = 0; b < n; ++b)
    for (int64_t k = 0; k < c; ++k)
      for (int64_t py = 0; py < h; ++py)
        for (int64_t px = 0; px < w; ++px) {
          const int64_t iu = ((b * 2 + 0) * h + py) * w + px, iv = iu + h * w;
          const double xs = double(s) * (px + double(flow[iu]));
          const double ys = double(s) * (py + double(flow[iv]));
          if (!(std::fabs(xs) < 1e9 && std::fabs(ys) < 1e9)) continue;  // also NaN, inf
          const int64_t src = ((b * c + k) * h + py) * w + px;
          const double j = image[src];
          const int64_t fx = static_cast<int64_t>(std::floor(xs));
          const int64_t fy = static_cast<int64_t>(std::floor(ys));
          for (int64_t qy = fy; qy <= fy + 1; ++qy)
            for (int64_t qx = fx; qx <= fx + 1; ++qx) {
              if (qx < 0 || qx >= ww || qy < 0 || qy >= hh) continue;
              const int64_t q = ((b * c + k) * hh + qy) * ww + qx;
              r.y[q] += j * m(xs - qx) * m(ys - qy);
              r.dimage[src] += m(xs - qx) * m(ys - qy) * dy[q];
              r.dflow[iu] += double(s) * j * dy[q] * m_slope(xs - qx) * m(ys - qy);
              r.dflow[iv] += double(s) * j * dy[q] * m(xs - qx) * m_slope(ys - qy);
            }
        }
  return r;
}

}  // namespace crema::ref
