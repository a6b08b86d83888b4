/// Naive deformable convolution oracle (v1 / v2): direct nested loops over outputs, taps and
/// channels, sampling with the tent-function form of bilinear interpolation, in double.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

namespace crema::ref {

struct DeformGeom {
  int64_t kernel_h, kernel_w;
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_h = 0, pad_w = 0;
  int64_t dilation_h = 1, dilation_w = 1;
  int64_t group = 1;
  int64_t deformable_group = 1;
};

/// x(h, w) of one plane with zero padding, as Σ over the integer pixels (yy, xx) of
/// max(0, 1 - |h - yy|) · max(0, 1 - |w - xx|) · x[yy][xx]; only the pixels within 1 of the
/// point can contribute, so the loop visits floor(h) .. floor(h) + 1.
template <class T>
double sample_plane(const T* plane, int64_t height, int64_t width, double h, double w) {
  if (!(h > -1 && h < height && w > -1 && w < width)) return 0;
  double sum = 0;
  const int64_t y0 = static_cast<int64_t>(std::floor(h)), x0 = static_cast<int64_t>(std::floor(w));
  for (int64_t yy = y0; yy <= y0 + 1; ++yy)
    for (int64_t xx = x0; xx <= x0 + 1; ++xx) {
      if (yy < 0 || yy >= height || xx < 0 || xx >= width) continue;
      const double wy = std::max(0.0, 1 - std::fabs(h - static_cast<double>(yy)));
      const double wx = std::max(0.0, 1 - std::fabs(w - static_cast<double>(xx)));
      sum += wy * wx * static_cast<double>(plane[yy * width + xx]);
    }
  return sum;
}

/// y (N, M, OH, OW) for x (N, C, H, W), offset (N, 2 * DG * kh * kw, OH, OW) (Δy at channel
/// 2 * (dg * kh * kw + k), Δx after it), mask (N, DG * kh * kw, OH, OW) or null (v1), weight
/// (M, C / group, kh, kw), bias (M) or null.
template <class T>
std::vector<double> deform_conv2d(const T* x, int64_t num, int64_t channels, int64_t height,
                                  int64_t width, const T* offset, const T* mask, const T* weight,
                                  const T* bias, int64_t num_output, const DeformGeom& g,
                                  int64_t* out_h, int64_t* out_w) {
  const int64_t oh_n =
      (height + 2 * g.pad_h - g.dilation_h * (g.kernel_h - 1) - 1) / g.stride_h + 1;
  const int64_t ow_n = (width + 2 * g.pad_w - g.dilation_w * (g.kernel_w - 1) - 1) / g.stride_w + 1;
  *out_h = oh_n;
  *out_w = ow_n;
  const int64_t cin_g = channels / g.group, cout_g = num_output / g.group;
  const int64_t c_per_dg = channels / g.deformable_group;
  const int64_t taps = g.kernel_h * g.kernel_w;
  std::vector<double> y(static_cast<size_t>(num * num_output * oh_n * ow_n));
  for (int64_t n = 0; n < num; ++n)
    for (int64_t o = 0; o < num_output; ++o)
      for (int64_t oh = 0; oh < oh_n; ++oh)
        for (int64_t ow = 0; ow < ow_n; ++ow) {
          double acc = bias ? static_cast<double>(bias[o]) : 0.0;
          const int64_t grp = o / cout_g;
          for (int64_t ci = 0; ci < cin_g; ++ci) {
            const int64_t c = grp * cin_g + ci;
            const int64_t dg = c / c_per_dg;
            const T* plane = x + (n * channels + c) * height * width;
            for (int64_t ki = 0; ki < g.kernel_h; ++ki)
              for (int64_t kj = 0; kj < g.kernel_w; ++kj) {
                const int64_t tap = ki * g.kernel_w + kj;
                const int64_t ch_y = (n * g.deformable_group + dg) * 2 * taps + 2 * tap;
                const double dy = offset[(ch_y * oh_n + oh) * ow_n + ow];
                const double dx = offset[((ch_y + 1) * oh_n + oh) * ow_n + ow];
                const double m =
                    mask ? static_cast<double>(
                               mask[(((n * g.deformable_group + dg) * taps + tap) * oh_n + oh) *
                                        ow_n +
                                    ow])
                         : 1.0;
                const double h =
                    static_cast<double>(oh * g.stride_h - g.pad_h + ki * g.dilation_h) + dy;
                const double w =
                    static_cast<double>(ow * g.stride_w - g.pad_w + kj * g.dilation_w) + dx;
                const double wt = weight[((o * cin_g + ci) * g.kernel_h + ki) * g.kernel_w + kj];
                acc += wt * m * sample_plane(plane, height, width, h, w);
              }
          }
          y[((n * num_output + o) * oh_n + oh) * ow_n + ow] = acc;
        }
  return y;
}

}  // namespace crema::ref
