/// Naive locally connected (unshared) convolution oracle, plain loops with double sums.
#pragma once

#include <cstdint>
#include <vector>

namespace crema::ref {

struct LocalGeom {
  int64_t num_output, kernel, stride = 1, pad = 0;
};

struct LocalResult {
  int64_t out_h = 0, out_w = 0;
  std::vector<double> y, dx, dw, db;
};

/// x (N, C, H, W); w (out_h * out_w, num_output, C, k, k); b (num_output, out_h, out_w) or
/// null; dy (N, num_output, out_h, out_w) or null (then only the forward). Direct convolution
/// sums with zero padding; the gradients are accumulated by scattering each output's dy.
template <class T>
LocalResult local_conv(const T* x, const T* w, const T* b, const double* dy, int64_t num,
                       int64_t channels, int64_t height, int64_t width, const LocalGeom& g) {
  LocalResult r;
  const int64_t k = g.kernel, O = g.num_output;
  r.out_h = (height + 2 * g.pad - k) / g.stride + 1;
  r.out_w = (width + 2 * g.pad - k) / g.stride + 1;
  const int64_t L = r.out_h * r.out_w;
  r.y.assign(static_cast<size_t>(num * O * L), 0.0);
  r.dx.assign(static_cast<size_t>(num * channels * height * width), 0.0);
  r.dw.assign(static_cast<size_t>(L * O * channels * k * k), 0.0);
  r.db.assign(static_cast<size_t>(O * L), 0.0);
  for (int64_t n = 0; n < num; ++n)
    for (int64_t o = 0; o < O; ++o)
      for (int64_t oy = 0; oy < r.out_h; ++oy)
        for (int64_t ox = 0; ox < r.out_w; ++ox) {
          const int64_t l = oy * r.out_w + ox;
          const size_t yi = static_cast<size_t>((n * O + o) * L + l);
          double acc = b ? double(b[o * L + l]) : 0.0;
          const double g_out = dy ? dy[yi] : 0.0;
          if (b) r.db[static_cast<size_t>(o * L + l)] += g_out;
          for (int64_t c = 0; c < channels; ++c)
            for (int64_t i = 0; i < k; ++i)
              for (int64_t j = 0; j < k; ++j) {
                const int64_t h = oy * g.stride - g.pad + i, ww = ox * g.stride - g.pad + j;
                if (h < 0 || h >= height || ww < 0 || ww >= width) continue;
                const size_t wi =
                    static_cast<size_t>((((l * O + o) * channels + c) * k + i) * k + j);
                const size_t xi =
                    static_cast<size_t>(((n * channels + c) * height + h) * width + ww);
                acc += double(w[wi]) * double(x[xi]);
                r.dw[wi] += g_out * double(x[xi]);
                r.dx[xi] += g_out * double(w[wi]);
              }
          r.y[yi] = acc;
        }
  return r;
}

}  // namespace crema::ref
