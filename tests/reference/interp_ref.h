/// Naive bilinear Interp reference (align-corners, DeepLab's cropping) in double; backward as
/// a scatter of each output's four weights (the plain adjoint).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace crema::ref {

struct InterpGeom {
  int64_t in_h, in_w;    // full input plane
  int64_t crop;          // -pad_beg: pixels dropped at the top and at the left
  int64_t eff_h, eff_w;  // region resized
  int64_t out_h, out_w;
};

struct InterpResult {
  std::vector<double> y, dx;
};

/// Source position of output o: o * (eff - 1) / (out - 1), 0 for a single output.
inline double interp_position(int64_t o, int64_t eff, int64_t out) {
  return out > 1 ? double(o) * double(eff - 1) / double(out - 1) : 0.0;
}

/// x is planes x in_h x in_w, dy is planes x out_h x out_w.
template <class T>
InterpResult interp(const T* x, const T* dy, int64_t planes, const InterpGeom& g) {
  InterpResult r;
  r.y.assign(planes * g.out_h * g.out_w, 0.0);
  r.dx.assign(planes * g.in_h * g.in_w, 0.0);
  for (int64_t p = 0; p < planes; ++p) {
    for (int64_t oh = 0; oh < g.out_h; ++oh) {
      const double fy = interp_position(oh, g.eff_h, g.out_h);
      const int64_t y0 = std::min<int64_t>(static_cast<int64_t>(std::floor(fy)), g.eff_h - 1);
      const int64_t y1 = std::min<int64_t>(y0 + 1, g.eff_h - 1);
      const double ly = fy - y0;
      for (int64_t ow = 0; ow < g.out_w; ++ow) {
        const double fx = interp_position(ow, g.eff_w, g.out_w);
        const int64_t x0 = std::min<int64_t>(static_cast<int64_t>(std::floor(fx)), g.eff_w - 1);
        const int64_t x1 = std::min<int64_t>(x0 + 1, g.eff_w - 1);
        const double lx = fx - x0;
        const int64_t ys[2] = {y0, y1}, xs[2] = {x0, x1};
        const double wy[2] = {1 - ly, ly}, wx[2] = {1 - lx, lx};
        const int64_t o = (p * g.out_h + oh) * g.out_w + ow;
        for (int a = 0; a < 2; ++a) {
          for (int b = 0; b < 2; ++b) {
            const int64_t in = (p * g.in_h + g.crop + ys[a]) * g.in_w + g.crop + xs[b];
            r.y[o] += wy[a] * wx[b] * x[in];
            r.dx[in] += wy[a] * wx[b] * dy[o];
          }
        }
      }
    }
  }
  return r;
}

}  // namespace crema::ref
