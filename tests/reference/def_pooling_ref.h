/// Naive def-pooling oracle (MODELS.md 2(a)-i), written with plain loops and double sums.
#pragma once

#include <cstdint>
#include <vector>

namespace crema::ref {

struct DefPoolGeom {
  int64_t radius = 1, stride = 1, pad = 1;
};

struct DefPoolResult {
  int64_t out_h = 0, out_w = 0;
  std::vector<double> y;
  std::vector<int64_t> best_dy, best_dx;  // winning displacement per output
  std::vector<bool> empty;                // window held no input position
};

/// x (N, C, H, W), a (C, 4) for (dx, dy, dx^2, dy^2). Output (oy, ox) looks at
/// (oy * s - pad + R + dy, ox * s - pad + R + dx) for |dy|, |dx| <= R, skipping positions
/// outside the map; the first maximum (dy, then dx ascending) of x - penalty wins.
template <class T>
DefPoolResult def_pool_forward(const T* x, const T* a, int64_t num, int64_t channels,
                               int64_t height, int64_t width, const DefPoolGeom& g) {
  DefPoolResult r;
  r.out_h = (height + 2 * g.pad - 2 * g.radius - 1) / g.stride + 1;
  r.out_w = (width + 2 * g.pad - 2 * g.radius - 1) / g.stride + 1;
  const size_t count = static_cast<size_t>(num * channels * r.out_h * r.out_w);
  r.y.assign(count, 0.0);
  r.best_dy.assign(count, 0);
  r.best_dx.assign(count, 0);
  r.empty.assign(count, true);
  size_t o = 0;
  for (int64_t n = 0; n < num; ++n)
    for (int64_t c = 0; c < channels; ++c)
      for (int64_t oy = 0; oy < r.out_h; ++oy)
        for (int64_t ox = 0; ox < r.out_w; ++ox, ++o) {
          const int64_t ay = oy * g.stride - g.pad + g.radius;
          const int64_t ax = ox * g.stride - g.pad + g.radius;
          for (int64_t dy = -g.radius; dy <= g.radius; ++dy)
            for (int64_t dx = -g.radius; dx <= g.radius; ++dx) {
              const int64_t h = ay + dy, w = ax + dx;
              if (h < 0 || h >= height || w < 0 || w >= width) continue;
              const double pen = double(a[c * 4]) * dx + double(a[c * 4 + 1]) * dy +
                                 double(a[c * 4 + 2]) * dx * dx + double(a[c * 4 + 3]) * dy * dy;
              const double v = double(x[((n * channels + c) * height + h) * width + w]) - pen;
              if (r.empty[o] || v > r.y[o]) {
                r.empty[o] = false;
                r.y[o] = v;
                r.best_dy[o] = dy;
                r.best_dx[o] = dx;
              }
            }
        }
  return r;
}

/// Gradients of sum(y * dy) given the forward result: dx routes each g to its argmax input,
/// da[c][k] = -sum g * d_k(argmax).
inline void def_pool_backward(const DefPoolResult& r, const double* dy, int64_t num,
                              int64_t channels, int64_t height, int64_t width, const DefPoolGeom& g,
                              std::vector<double>* dx, std::vector<double>* da) {
  dx->assign(static_cast<size_t>(num * channels * height * width), 0.0);
  da->assign(static_cast<size_t>(channels * 4), 0.0);
  size_t o = 0;
  for (int64_t n = 0; n < num; ++n)
    for (int64_t c = 0; c < channels; ++c)
      for (int64_t oy = 0; oy < r.out_h; ++oy)
        for (int64_t ox = 0; ox < r.out_w; ++ox, ++o) {
          if (r.empty[o]) continue;
          const int64_t h = oy * g.stride - g.pad + g.radius + r.best_dy[o];
          const int64_t w = ox * g.stride - g.pad + g.radius + r.best_dx[o];
          (*dx)[static_cast<size_t>(((n * channels + c) * height + h) * width + w)] += dy[o];
          const double ddx = static_cast<double>(r.best_dx[o]);
          const double ddy = static_cast<double>(r.best_dy[o]);
          (*da)[static_cast<size_t>(c * 4 + 0)] -= dy[o] * ddx;
          (*da)[static_cast<size_t>(c * 4 + 1)] -= dy[o] * ddy;
          (*da)[static_cast<size_t>(c * 4 + 2)] -= dy[o] * ddx * ddx;
          (*da)[static_cast<size_t>(c * 4 + 3)] -= dy[o] * ddy * ddy;
        }
}

}  // namespace crema::ref
