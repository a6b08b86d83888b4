/// Naive GBD-Net message passing oracle: direct conv loops, the gated update written out per
/// element, double accumulators (written from MODELS.md 2(b), independent of the layer).
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

namespace crema::ref {

using Feat = std::vector<double>;  // one region, (N, channels, H, W)

/// Same-size convolution (stride 1, pad (ks - 1) / 2): x (N, cin, H, W) -> (N, cout, H, W).
inline Feat gmp_conv(const Feat& x, int64_t n, int64_t cin, int64_t h, int64_t w,
                     const std::vector<double>& weight, const std::vector<double>& bias,
                     int64_t cout, int64_t ks) {
  const int64_t pad = (ks - 1) / 2;
  Feat y(static_cast<size_t>(n * cout * h * w));
  for (int64_t b = 0; b < n; ++b)
    for (int64_t o = 0; o < cout; ++o)
      for (int64_t r = 0; r < h; ++r)
        for (int64_t c = 0; c < w; ++c) {
          double acc = bias[o];
          for (int64_t i = 0; i < cin; ++i)
            for (int64_t kr = 0; kr < ks; ++kr)
              for (int64_t kc = 0; kc < ks; ++kc) {
                const int64_t rr = r + kr - pad, cc = c + kc - pad;
                if (rr < 0 || rr >= h || cc < 0 || cc >= w) continue;
                acc += weight[((o * cin + i) * ks + kr) * ks + kc] *
                       x[((b * cin + i) * h + rr) * w + cc];
              }
          y[((b * cout + o) * h + r) * w + c] = acc;
        }
  return y;
}

inline double gmp_relu(double v) { return v > 0 ? v : 0; }
inline double gmp_sigm(double v) { return 1.0 / (1.0 + std::exp(-v)); }

/// The fused per-element update: ReLU(self) + sigmoid(gate) * ReLU(msg).
inline double gmp_update(double self, double gate, double msg) {
  return gmp_relu(self) + gmp_sigm(gate) * gmp_relu(msg);
}

/// Its partial derivatives (ReLU'(0) = 0).
inline void gmp_update_grad(double self, double gate, double msg, double* d_self, double* d_gate,
                            double* d_msg) {
  const double s = gmp_sigm(gate);
  *d_self = self > 0 ? 1 : 0;
  *d_gate = gmp_relu(msg) * s * (1 - s);
  *d_msg = msg > 0 ? s : 0;
}

/// Forward of the whole module. `params` holds (weight, bias) pairs in the layer's documented
/// blob order: Sself_1..K, Smsg_1..K-1, Sgate_1..K-1, Bself_1..K, Bmsg_2..K, Bgate_2..K,
/// Fuse_1..K. Returns the K outputs h0 + coeff * ReLU(Fuse(concat(h1, h2))).
inline std::vector<Feat> gmp_forward(const std::vector<Feat>& x, int64_t n, int64_t c, int64_t h,
                                     int64_t w, int64_t m, int64_t ks, double coeff,
                                     const std::vector<std::vector<double>>& params) {
  const int64_t k = static_cast<int64_t>(x.size());
  int64_t next = 0;
  auto take = [&](int64_t count) {
    std::vector<std::vector<double>> out;
    for (int64_t j = 0; j < count; ++j) {
      out.push_back(params[next]);
      out.push_back(params[next + 1]);
      next += 2;
    }
    return out;
  };
  const auto sself = take(k), smsg = take(k - 1), sgate = take(k - 1);
  const auto bself = take(k), bmsg = take(k - 1), bgate = take(k - 1), fuse = take(k);
  const int64_t hw = h * w;
  std::vector<Feat> h1(k), h2(k);
  // S: region 0 starts, region r receives from r - 1 (msg/gate lists indexed by sender).
  for (int64_t r = 0; r < k; ++r) {
    const Feat a = gmp_conv(x[r], n, c, h, w, sself[2 * r], sself[2 * r + 1], m, ks);
    h1[r] = Feat(a.size());
    if (r == 0) {
      for (size_t e = 0; e < a.size(); ++e) h1[r][e] = gmp_relu(a[e]);
      continue;
    }
    const int64_t s = r - 1;
    const Feat g = gmp_conv(x[s], n, c, h, w, sgate[2 * s], sgate[2 * s + 1], m, ks);
    const Feat mm = gmp_conv(h1[s], n, m, h, w, smsg[2 * s], smsg[2 * s + 1], m, ks);
    for (size_t e = 0; e < a.size(); ++e) h1[r][e] = gmp_update(a[e], g[e], mm[e]);
  }
  // B: region k - 1 starts, region r receives from r + 1 (lists start at sender 1).
  for (int64_t r = k - 1; r >= 0; --r) {
    const Feat a = gmp_conv(x[r], n, c, h, w, bself[2 * r], bself[2 * r + 1], m, ks);
    h2[r] = Feat(a.size());
    if (r == k - 1) {
      for (size_t e = 0; e < a.size(); ++e) h2[r][e] = gmp_relu(a[e]);
      continue;
    }
    const int64_t s = r + 1, j = s - 1;
    const Feat g = gmp_conv(x[s], n, c, h, w, bgate[2 * j], bgate[2 * j + 1], m, ks);
    const Feat mm = gmp_conv(h2[s], n, m, h, w, bmsg[2 * j], bmsg[2 * j + 1], m, ks);
    for (size_t e = 0; e < a.size(); ++e) h2[r][e] = gmp_update(a[e], g[e], mm[e]);
  }
  std::vector<Feat> out(k);
  for (int64_t r = 0; r < k; ++r) {
    Feat cat(static_cast<size_t>(n * 2 * m * hw));
    for (int64_t b = 0; b < n; ++b)
      for (int64_t ch = 0; ch < m; ++ch)
        for (int64_t p = 0; p < hw; ++p) {
          cat[(b * 2 * m + ch) * hw + p] = h1[r][(b * m + ch) * hw + p];
          cat[(b * 2 * m + m + ch) * hw + p] = h2[r][(b * m + ch) * hw + p];
        }
    const Feat f = gmp_conv(cat, n, 2 * m, h, w, fuse[2 * r], fuse[2 * r + 1], c, ks);
    out[r] = Feat(f.size());
    for (size_t e = 0; e < f.size(); ++e) out[r][e] = x[r][e] + coeff * gmp_relu(f[e]);
  }
  return out;
}

}  // namespace crema::ref
