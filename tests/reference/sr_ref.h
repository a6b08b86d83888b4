/// Naive references for the SR protocol tests, written from the MATLAB sources' definitions:
/// SSIM with the full 2-d window (ssim_index.m), and SRCNN.m's forward pass (imfilter 'same'
/// 'replicate' on MATLAB column-major weight arrays), all in double.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace crema::ref {

/// ssim_index.m with fspecial('gaussian', 11, 1.5) and filter2(..., 'valid'); images row-major.
inline double ssim_full_window(const std::vector<double>& a, const std::vector<double>& b,
                               int64_t h, int64_t w) {
  double win[11][11], total = 0, peak = 0;
  for (int i = 0; i < 11; ++i)
    for (int j = 0; j < 11; ++j) {
      win[i][j] = std::exp(-((i - 5) * (i - 5) + (j - 5) * (j - 5)) / (2 * 1.5 * 1.5));
      peak = std::max(peak, win[i][j]);
    }
  for (auto& row : win)
    for (double& v : row) {
      if (v < 2.220446049250313e-16 * peak) v = 0;
      total += v;
    }
  const double c1 = std::pow(0.01 * 255, 2), c2 = std::pow(0.03 * 255, 2);
  double sum = 0;
  int64_t count = 0;
  for (int64_t r = 0; r + 11 <= h; ++r)
    for (int64_t c = 0; c + 11 <= w; ++c) {
      double ma = 0, mb = 0, saa = 0, sbb = 0, sab = 0;
      for (int i = 0; i < 11; ++i)
        for (int j = 0; j < 11; ++j) {
          const double k = win[i][j] / total;
          const double x = a[(r + i) * w + c + j], y = b[(r + i) * w + c + j];
          ma += k * x, mb += k * y, saa += k * x * x, sbb += k * y * y, sab += k * x * y;
        }
      const double va = saa - ma * ma, vb = sbb - mb * mb, cov = sab - ma * mb;
      sum += ((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma * ma + mb * mb + c1) * (va + vb + c2));
      ++count;
    }
  return sum / static_cast<double>(count);
}

/// imfilter(img, K, 'same', 'replicate') with K given by k x k values kernel(i, j) (MATLAB
/// row i, column j, 0-based): correlation centred at ((k - 1) / 2, (k - 1) / 2).
template <class Kernel>
std::vector<double> imfilter_replicate(const std::vector<double>& img, int64_t h, int64_t w,
                                       int64_t k, Kernel kernel) {
  std::vector<double> out(h * w, 0.0);
  const int64_t c0 = (k - 1) / 2;
  for (int64_t r = 0; r < h; ++r)
    for (int64_t c = 0; c < w; ++c) {
      double s = 0;
      for (int64_t i = 0; i < k; ++i)
        for (int64_t j = 0; j < k; ++j) {
          const int64_t rr = std::clamp<int64_t>(r + i - c0, 0, h - 1);
          const int64_t cc = std::clamp<int64_t>(c + j - c0, 0, w - 1);
          s += kernel(i, j) * img[rr * w + cc];
        }
      out[r * w + c] = s;
    }
  return out;
}

/// SRCNN.m: the three layers on an h x w image. Arrays are MATLAB column-major:
/// w1 (k1^2 x n1), b1 (n1), w2 (n1 x k2^2 x n2), b2 (n2), w3 (n2 x k3^2), b3 (1).
inline std::vector<double> srcnn_matlab(const std::vector<double>& img, int64_t h, int64_t w,
                                        const std::vector<double>& w1,
                                        const std::vector<double>& b1, int64_t k1, int64_t n1,
                                        const std::vector<double>& w2,
                                        const std::vector<double>& b2, int64_t k2, int64_t n2,
                                        const std::vector<double>& w3, double b3, int64_t k3) {
  std::vector<std::vector<double>> f1(n1), f2(n2);
  for (int64_t f = 0; f < n1; ++f) {
    // reshape(weights_conv1(:, f), k1, k1): element (i, j) is entry i + j * k1 of the column.
    f1[f] = imfilter_replicate(img, h, w, k1,
                               [&](int64_t i, int64_t j) { return w1[i + j * k1 + f * k1 * k1]; });
    for (double& v : f1[f]) v = std::max(v + b1[f], 0.0);
  }
  for (int64_t f = 0; f < n2; ++f) {
    f2[f].assign(h * w, 0.0);
    for (int64_t ch = 0; ch < n1; ++ch) {
      const auto part = imfilter_replicate(f1[ch], h, w, k2, [&](int64_t i, int64_t j) {
        return w2[ch + n1 * ((i + j * k2) + k2 * k2 * f)];
      });
      for (int64_t p = 0; p < h * w; ++p) f2[f][p] += part[p];
    }
    for (double& v : f2[f]) v = std::max(v + b2[f], 0.0);
  }
  std::vector<double> out(h * w, 0.0);
  for (int64_t ch = 0; ch < n2; ++ch) {
    const auto part = imfilter_replicate(
        f2[ch], h, w, k3, [&](int64_t i, int64_t j) { return w3[ch + n2 * (i + j * k3)]; });
    for (int64_t p = 0; p < h * w; ++p) out[p] += part[p];
  }
  for (double& v : out) v += b3;
  return out;
}

}  // namespace crema::ref
