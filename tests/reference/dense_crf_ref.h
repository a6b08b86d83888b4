/// Naive double-precision DenseCRF oracle: exact O((HW)^2) Gaussian filters and the CRF-as-RNN
/// mean-field iterations in plain loops.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

namespace crema::ref {

/// Bandwidths of the two CRF-as-RNN kernels.
struct DenseCrfThetas {
  double alpha = 160, beta = 3, gamma = 3;
};

/// Exact Gaussian filter of `values` (channels x H*W) over the pixels' scaled features:
/// out[c][i] = sum_j exp(-|f_i - f_j|^2 / 2) values[c][j], self term included. Features are
/// (x, y) / theta_xy, plus rgb / theta_rgb when `image` (3 x H*W) is not null. With `normalize`
/// each output is divided by sum_j exp(-|f_i - f_j|^2 / 2).
inline std::vector<double> exact_gaussian_filter(const std::vector<double>& values,
                                                 int64_t channels, int64_t height, int64_t width,
                                                 const double* image, double theta_xy,
                                                 double theta_rgb, bool normalize) {
  const int64_t pixels = height * width;
  std::vector<double> out(static_cast<size_t>(channels * pixels), 0.0);
  for (int64_t i = 0; i < pixels; ++i) {
    double weight_sum = 0;
    std::vector<double> acc(static_cast<size_t>(channels), 0.0);
    for (int64_t j = 0; j < pixels; ++j) {
      const double dx = static_cast<double>(i % width - j % width) / theta_xy;
      const double dy = static_cast<double>(i / width - j / width) / theta_xy;
      double d2 = dx * dx + dy * dy;
      if (image) {
        for (int c = 0; c < 3; ++c) {
          const double dc = (image[c * pixels + i] - image[c * pixels + j]) / theta_rgb;
          d2 += dc * dc;
        }
      }
      const double k = std::exp(-0.5 * d2);
      weight_sum += k;
      for (int64_t c = 0; c < channels; ++c) acc[c] += k * values[c * pixels + j];
    }
    for (int64_t c = 0; c < channels; ++c)
      out[c * pixels + i] = normalize ? acc[c] / (weight_sum + 1e-20) : acc[c];
  }
  return out;
}

/// Final logits of `iterations` mean-field steps for one image: unary and q0 are L x H*W, w_s,
/// w_b and mu are L x L row-major; q0 null means start from the unary.
inline std::vector<double> dense_crf_meanfield(const double* unary, const double* q0,
                                               const double* image, int64_t labels, int64_t height,
                                               int64_t width, const double* w_s, const double* w_b,
                                               const double* mu, int iterations,
                                               const DenseCrfThetas& th) {
  const int64_t pixels = height * width;
  const int64_t count = labels * pixels;
  std::vector<double> logits(q0 ? q0 : unary, (q0 ? q0 : unary) + count);
  for (int it = 0; it < iterations; ++it) {
    std::vector<double> q(static_cast<size_t>(count));
    for (int64_t p = 0; p < pixels; ++p) {
      double mx = logits[p];
      for (int64_t l = 1; l < labels; ++l) mx = std::max(mx, logits[l * pixels + p]);
      double z = 0;
      for (int64_t l = 0; l < labels; ++l) z += std::exp(logits[l * pixels + p] - mx);
      for (int64_t l = 0; l < labels; ++l)
        q[l * pixels + p] = std::exp(logits[l * pixels + p] - mx) / z;
    }
    const auto s = exact_gaussian_filter(q, labels, height, width, nullptr, th.gamma, 1, true);
    const auto b = exact_gaussian_filter(q, labels, height, width, image, th.alpha, th.beta, true);
    std::vector<double> m(static_cast<size_t>(count), 0.0);
    for (int64_t l = 0; l < labels; ++l)
      for (int64_t k = 0; k < labels; ++k)
        for (int64_t p = 0; p < pixels; ++p)
          m[l * pixels + p] +=
              w_s[l * labels + k] * s[k * pixels + p] + w_b[l * labels + k] * b[k * pixels + p];
    for (int64_t l = 0; l < labels; ++l) {
      for (int64_t p = 0; p < pixels; ++p) {
        double pen = 0;
        for (int64_t k = 0; k < labels; ++k) pen += mu[l * labels + k] * m[k * pixels + p];
        logits[l * pixels + p] = unary[l * pixels + p] - pen;
      }
    }
  }
  return logits;
}

}  // namespace crema::ref
