/// Naive transposed-convolution oracle: each input pixel scatters its weighted copies into the
/// output (direct loops, no col2im).
#pragma once

#include <cstdint>
#include <vector>

namespace crema::ref {

struct DeconvGeom {
  int64_t kernel_h, kernel_w;
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_h = 0, pad_w = 0;
  int64_t dilation_h = 1, dilation_w = 1;
  int64_t group = 1;
};

/// y (N, M, OH, OW) for x (N, C, H, W), weight (C, M / group, kh, kw) (Caffe's layout), bias (M)
/// or null; OH = stride * (H - 1) + dilation * (kh - 1) + 1 - 2 * pad, likewise OW.
template <class T>
std::vector<double> deconv2d(const T* x, int64_t num, int64_t channels, int64_t height,
                             int64_t width, const T* weight, const T* bias, int64_t num_output,
                             const DeconvGeom& g, int64_t* out_h, int64_t* out_w) {
  const int64_t oh_n =
      g.stride_h * (height - 1) + g.dilation_h * (g.kernel_h - 1) + 1 - 2 * g.pad_h;
  const int64_t ow_n = g.stride_w * (width - 1) + g.dilation_w * (g.kernel_w - 1) + 1 - 2 * g.pad_w;
  *out_h = oh_n;
  *out_w = ow_n;
  const int64_t cin_g = channels / g.group, cout_g = num_output / g.group;
  std::vector<double> y(static_cast<size_t>(num * num_output * oh_n * ow_n), 0.0);
  for (int64_t n = 0; n < num; ++n)
    for (int64_t c = 0; c < channels; ++c) {
      const int64_t grp = c / cin_g;
      for (int64_t h = 0; h < height; ++h)
        for (int64_t w = 0; w < width; ++w) {
          const double xv = x[((n * channels + c) * height + h) * width + w];
          for (int64_t co = 0; co < cout_g; ++co) {
            const int64_t o = grp * cout_g + co;
            for (int64_t ki = 0; ki < g.kernel_h; ++ki)
              for (int64_t kj = 0; kj < g.kernel_w; ++kj) {
                const int64_t oh = h * g.stride_h - g.pad_h + ki * g.dilation_h;
                const int64_t ow = w * g.stride_w - g.pad_w + kj * g.dilation_w;
                if (oh < 0 || oh >= oh_n || ow < 0 || ow >= ow_n) continue;
                const double wv = weight[((c * cout_g + co) * g.kernel_h + ki) * g.kernel_w + kj];
                y[static_cast<size_t>(((n * num_output + o) * oh_n + oh) * ow_n + ow)] += xv * wv;
              }
          }
        }
    }
  if (bias != nullptr)
    for (int64_t n = 0; n < num; ++n)
      for (int64_t o = 0; o < num_output; ++o)
        for (int64_t i = 0; i < oh_n * ow_n; ++i)
          y[static_cast<size_t>((n * num_output + o) * oh_n * ow_n + i)] += bias[o];
  return y;
}

}  // namespace crema::ref
