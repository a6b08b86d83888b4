/// Naive 2-d convolution oracle: direct nested loops over outputs and taps (no im2col).
#pragma once

#include <cstdint>
#include <vector>

namespace crema::ref {

struct ConvGeom {
  int64_t kernel_h, kernel_w;
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_h = 0, pad_w = 0;
  int64_t dilation_h = 1, dilation_w = 1;
  int64_t group = 1;
};

/// y (N, M, OH, OW) for x (N, C, H, W), weight (M, C / group, kh, kw), bias (M) or null.
/// OH and OW are returned through out_h / out_w.
template <class T>
std::vector<double> conv2d(const T* x, int64_t num, int64_t channels, int64_t height, int64_t width,
                           const T* weight, const T* bias, int64_t num_output, const ConvGeom& g,
                           int64_t* out_h, int64_t* out_w) {
  const int64_t oh_n =
      (height + 2 * g.pad_h - g.dilation_h * (g.kernel_h - 1) - 1) / g.stride_h + 1;
  const int64_t ow_n = (width + 2 * g.pad_w - g.dilation_w * (g.kernel_w - 1) - 1) / g.stride_w + 1;
  *out_h = oh_n;
  *out_w = ow_n;
  const int64_t cin_g = channels / g.group, cout_g = num_output / g.group;
  std::vector<double> y(static_cast<size_t>(num * num_output * oh_n * ow_n));
  for (int64_t n = 0; n < num; ++n)
    for (int64_t o = 0; o < num_output; ++o) {
      const int64_t grp = o / cout_g;
      for (int64_t oh = 0; oh < oh_n; ++oh)
        for (int64_t ow = 0; ow < ow_n; ++ow) {
          double acc = bias != nullptr ? static_cast<double>(bias[o]) : 0.0;
          for (int64_t ci = 0; ci < cin_g; ++ci) {
            const int64_t c = grp * cin_g + ci;
            for (int64_t ki = 0; ki < g.kernel_h; ++ki)
              for (int64_t kj = 0; kj < g.kernel_w; ++kj) {
                const int64_t h = oh * g.stride_h - g.pad_h + ki * g.dilation_h;
                const int64_t w = ow * g.stride_w - g.pad_w + kj * g.dilation_w;
                if (h < 0 || h >= height || w < 0 || w >= width) continue;
                const double xv = x[((n * channels + c) * height + h) * width + w];
                const double wv = weight[((o * cin_g + ci) * g.kernel_h + ki) * g.kernel_w + kj];
                acc += xv * wv;
              }
          }
          y[static_cast<size_t>(((n * num_output + o) * oh_n + oh) * ow_n + ow)] = acc;
        }
    }
  return y;
}

}  // namespace crema::ref
