/// Naive LRN reference in double: forward from the definition, backward from the full Jacobian
/// (sum over every output of dy * d y_out / d x_in), not from the layer's closed form.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <vector>

namespace crema::ref {

struct LrnParams {
  int64_t local_size = 5;
  double alpha = 1, beta = 0.75, k = 1;
  bool across = true;
};

struct LrnResult {
  std::vector<double> y, dx;
};

/// x and dy are N x C x H x W.
template <class T>
LrnResult lrn(const T* x, const T* dy, int64_t N, int64_t C, int64_t H, int64_t W,
              const LrnParams& p) {
  const int64_t half = (p.local_size - 1) / 2;
  auto at = [&](int64_t n, int64_t c, int64_t h, int64_t w) {
    return ((n * C + c) * H + h) * W + w;
  };
  // Does input (c2, h2, w2) lie in the window of output (c, h, w)? (same image)
  auto in_window = [&](int64_t c, int64_t h, int64_t w, int64_t c2, int64_t h2, int64_t w2) {
    if (p.across) return h == h2 && w == w2 && std::llabs(c - c2) <= half;
    return c == c2 && std::llabs(h - h2) <= half && std::llabs(w - w2) <= half;
  };
  // Coefficient of the sum of squares and the constant term of the scale.
  const double coeff =
      p.across ? p.alpha / p.local_size : p.alpha / double(p.local_size * p.local_size);
  const double k = p.across ? p.k : 1.0;
  const int64_t count = N * C * H * W;
  std::vector<double> scale(count);
  LrnResult r;
  r.y.resize(count);
  r.dx.assign(count, 0.0);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t w = 0; w < W; ++w) {
          double sum = 0;
          for (int64_t c2 = 0; c2 < C; ++c2)
            for (int64_t h2 = 0; h2 < H; ++h2)
              for (int64_t w2 = 0; w2 < W; ++w2)
                if (in_window(c, h, w, c2, h2, w2)) {
                  const double v = x[at(n, c2, h2, w2)];
                  sum += v * v;
                }
          const int64_t o = at(n, c, h, w);
          scale[o] = k + coeff * sum;
          r.y[o] = x[o] * std::pow(scale[o], -p.beta);
        }
  // y_o = x_o * s_o^-beta: dy_o/dx_j = [o == j] s_o^-beta
  //                                    - beta * x_o * s_o^(-beta-1) * coeff * 2 x_j [j in win(o)]
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t w = 0; w < W; ++w) {
          const int64_t o = at(n, c, h, w);
          for (int64_t c2 = 0; c2 < C; ++c2)
            for (int64_t h2 = 0; h2 < H; ++h2)
              for (int64_t w2 = 0; w2 < W; ++w2) {
                const int64_t j = at(n, c2, h2, w2);
                double d = j == o ? std::pow(scale[o], -p.beta) : 0.0;
                if (in_window(c, h, w, c2, h2, w2))
                  d -= p.beta * x[o] * std::pow(scale[o], -p.beta - 1) * coeff * 2 * x[j];
                r.dx[j] += dy[o] * d;
              }
        }
  return r;
}

}  // namespace crema::ref
