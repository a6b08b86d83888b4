/// Naive 2-d pooling oracle (Caffe's MAX and AVE semantics), written with plain loops.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

namespace crema::ref {

struct PoolGeom {
  int64_t kernel_h, kernel_w;
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_h = 0, pad_w = 0;
  bool ceil_mode = true;
};

/// Output length along one axis: ceil or floor of (size + 2 pad - kernel) / stride, plus one,
/// minus one when the last window would start at or past size + pad.
inline int64_t pooled_size(int64_t size, int64_t kernel, int64_t stride, int64_t pad,
                           bool ceil_mode) {
  const double span = static_cast<double>(size + 2 * pad - kernel) / static_cast<double>(stride);
  int64_t out = static_cast<int64_t>(ceil_mode ? std::ceil(span) : std::floor(span)) + 1;
  if ((out - 1) * stride >= size + pad) out -= 1;
  return out;
}

struct PoolResult {
  int64_t out_h, out_w;
  std::vector<double> y;
  std::vector<int64_t> argmax;  // MAX only: h * W + w
};

/// Pools x (planes, H, W). MAX: the first largest value in row-major window order; AVE: the
/// sum over the window's in-image pixels divided by the window's area inside [-pad, size + pad).
template <class T>
PoolResult pool2d(const T* x, int64_t planes, int64_t height, int64_t width, const PoolGeom& g,
                  bool max) {
  PoolResult r;
  r.out_h = pooled_size(height, g.kernel_h, g.stride_h, g.pad_h, g.ceil_mode);
  r.out_w = pooled_size(width, g.kernel_w, g.stride_w, g.pad_w, g.ceil_mode);
  const size_t n = static_cast<size_t>(planes * r.out_h * r.out_w);
  r.y.assign(n, 0.0);
  r.argmax.assign(n, -1);
  for (int64_t p = 0; p < planes; ++p)
    for (int64_t oh = 0; oh < r.out_h; ++oh)
      for (int64_t ow = 0; ow < r.out_w; ++ow) {
        const size_t o = static_cast<size_t>((p * r.out_h + oh) * r.out_w + ow);
        const int64_t h0 = oh * g.stride_h - g.pad_h, w0 = ow * g.stride_w - g.pad_w;
        double best = -std::numeric_limits<double>::infinity(), sum = 0;
        int64_t best_idx = -1, area = 0;
        for (int64_t h = h0; h < h0 + g.kernel_h; ++h)
          for (int64_t w = w0; w < w0 + g.kernel_w; ++w) {
            if (h < height + g.pad_h && w < width + g.pad_w) ++area;
            if (h < 0 || h >= height || w < 0 || w >= width) continue;
            const double v = x[(p * height + h) * width + w];
            sum += v;
            if (v > best) best = v, best_idx = h * width + w;
          }
        if (max) {
          r.y[o] = best;
          r.argmax[o] = best_idx;
        } else {
          r.y[o] = sum / static_cast<double>(area);
        }
      }
  return r;
}

}  // namespace crema::ref
