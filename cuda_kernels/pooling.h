/// Max and average pooling kernel bodies (one body, CPU and CUDA launchers).
#pragma once

#include <cstdint>

#include "core/hd.h"
#include "cuda_kernels/launch.h"

namespace crema::kernels {

/// Geometry of 2-d pooling over planes of H x W into pooled_h x pooled_w. Windows start at
/// o * stride - pad; an input is (num * channels) planes, row-major.
struct PoolingArgs {
  int64_t height, width;
  int64_t pooled_h, pooled_w;
  int64_t kernel_h, kernel_w;
  int64_t stride_h, stride_w;
  int64_t pad_h, pad_w;
};

/// Max pooling. Work item: one output row, i in [0, planes * pooled_h), split as
/// i = plane * pooled_h + oh (a row per item keeps index divisions off the per-element path).
/// For each ow, scans the window clipped to the image in row-major order; the first largest
/// value wins (ties keep the earlier index). Writes y[i * pooled_w + ow], mask (h * W + w of the
/// winner) and top_mask (the same index as T) when top_mask is not null. GATHER. Unlike Caffe's
/// -FLT_MAX start, the scan starts from the window's first pixel, so the mask is always valid.
template <class T>
CREMA_HD inline void pooling_max_forward(int64_t i, const PoolingArgs& a, const T* x, T* y,
                                         int32_t* mask, T* top_mask) {
  const int64_t oh = i % a.pooled_h;
  const int64_t plane = i / a.pooled_h;
  const int64_t hstart = hd::max<int64_t>(oh * a.stride_h - a.pad_h, 0);
  const int64_t hend = hd::min<int64_t>(oh * a.stride_h - a.pad_h + a.kernel_h, a.height);
  const T* xp = x + plane * a.height * a.width;
  for (int64_t ow = 0; ow < a.pooled_w; ++ow) {
    const int64_t wstart = hd::max<int64_t>(ow * a.stride_w - a.pad_w, 0);
    const int64_t wend = hd::min<int64_t>(ow * a.stride_w - a.pad_w + a.kernel_w, a.width);
    int64_t best = hstart * a.width + wstart;
    T best_value = xp[best];
    for (int64_t h = hstart; h < hend; ++h) {
      for (int64_t w = wstart; w < wend; ++w) {
        const int64_t idx = h * a.width + w;
        if (xp[idx] > best_value) {
          best_value = xp[idx];
          best = idx;
        }
      }
    }
    const int64_t o = i * a.pooled_w + ow;
    y[o] = best_value;
    mask[o] = static_cast<int32_t>(best);
    if (top_mask != nullptr) top_mask[o] = static_cast<T>(best);
  }
}

/// Average pooling. Work item: one output row, split as in pooling_max_forward. Sums each window
/// clipped to the image and divides by the window size clipped to the padded image (Caffe's
/// pool_size: padding inside H + pad counts, the window's overhang beyond it does not). Writes
/// y[i * pooled_w + ow]. GATHER.
template <class T>
CREMA_HD inline void pooling_ave_forward(int64_t i, const PoolingArgs& a, const T* x, T* y) {
  const int64_t oh = i % a.pooled_h;
  const int64_t plane = i / a.pooled_h;
  const int64_t hstart0 = oh * a.stride_h - a.pad_h;
  const int64_t hend0 = hd::min<int64_t>(hstart0 + a.kernel_h, a.height + a.pad_h);
  const int64_t hstart = hd::max<int64_t>(hstart0, 0);
  const int64_t hend = hd::min<int64_t>(hend0, a.height);
  const T* xp = x + plane * a.height * a.width;
  for (int64_t ow = 0; ow < a.pooled_w; ++ow) {
    const int64_t wstart0 = ow * a.stride_w - a.pad_w;
    const int64_t wend0 = hd::min<int64_t>(wstart0 + a.kernel_w, a.width + a.pad_w);
    const int64_t pool_size = (hend0 - hstart0) * (wend0 - wstart0);
    const int64_t wstart = hd::max<int64_t>(wstart0, 0);
    const int64_t wend = hd::min<int64_t>(wend0, a.width);
    T sum = T(0);
    for (int64_t h = hstart; h < hend; ++h)
      for (int64_t w = wstart; w < wend; ++w) sum += xp[h * a.width + w];
    y[i * a.pooled_w + ow] = sum / static_cast<T>(pool_size);
  }
}

/// First and one-past-last output index along one axis whose window covers input `x`:
/// windows o with o * stride - pad <= x < o * stride - pad + kernel.
CREMA_HD inline void pooling_cover(int64_t x, int64_t kernel, int64_t stride, int64_t pad,
                                   int64_t pooled, int64_t* first, int64_t* last) {
  *first = x + pad < kernel ? 0 : (x + pad - kernel) / stride + 1;
  *last = hd::min<int64_t>((x + pad) / stride + 1, pooled);
}

/// Max pooling backward. Work item: one input row, i in [0, planes * H), split as
/// i = plane * H + h. For each w, sums dy over the covering windows whose argmax (mask) is this
/// pixel, in row-major window order; writes dx[i * W + w] (=). GATHER.
template <class T>
CREMA_HD inline void pooling_max_backward(int64_t i, const PoolingArgs& a, const T* dy,
                                          const int32_t* mask, T* dx) {
  const int64_t h = i % a.height;
  const int64_t plane = i / a.height;
  int64_t oh0, oh1;
  pooling_cover(h, a.kernel_h, a.stride_h, a.pad_h, a.pooled_h, &oh0, &oh1);
  const int64_t offset = plane * a.pooled_h * a.pooled_w;
  for (int64_t w = 0; w < a.width; ++w) {
    int64_t ow0, ow1;
    pooling_cover(w, a.kernel_w, a.stride_w, a.pad_w, a.pooled_w, &ow0, &ow1);
    const int64_t self = h * a.width + w;
    T sum = T(0);
    for (int64_t oh = oh0; oh < oh1; ++oh) {
      for (int64_t ow = ow0; ow < ow1; ++ow) {
        const int64_t o = offset + oh * a.pooled_w + ow;
        if (mask[o] == self) sum += dy[o];
      }
    }
    dx[i * a.width + w] = sum;
  }
}

/// Average pooling backward. Work item: one input row, split as in pooling_max_backward. For
/// each w, sums dy / pool_size over the covering windows (pool_size as in pooling_ave_forward),
/// in row-major window order; writes dx[i * W + w] (=). GATHER.
template <class T>
CREMA_HD inline void pooling_ave_backward(int64_t i, const PoolingArgs& a, const T* dy, T* dx) {
  const int64_t h = i % a.height;
  const int64_t plane = i / a.height;
  int64_t oh0, oh1;
  pooling_cover(h, a.kernel_h, a.stride_h, a.pad_h, a.pooled_h, &oh0, &oh1);
  const T* dyp = dy + plane * a.pooled_h * a.pooled_w;
  for (int64_t w = 0; w < a.width; ++w) {
    int64_t ow0, ow1;
    pooling_cover(w, a.kernel_w, a.stride_w, a.pad_w, a.pooled_w, &ow0, &ow1);
    T sum = T(0);
    for (int64_t oh = oh0; oh < oh1; ++oh) {
      const int64_t hstart = oh * a.stride_h - a.pad_h;
      const int64_t hsize = hd::min<int64_t>(hstart + a.kernel_h, a.height + a.pad_h) - hstart;
      for (int64_t ow = ow0; ow < ow1; ++ow) {
        const int64_t wstart = ow * a.stride_w - a.pad_w;
        const int64_t wsize = hd::min<int64_t>(wstart + a.kernel_w, a.width + a.pad_w) - wstart;
        sum += dyp[oh * a.pooled_w + ow] / static_cast<T>(hsize * wsize);
      }
    }
    dx[i * a.width + w] = sum;
  }
}

}  // namespace crema::kernels

namespace crema::cuda {

/// Launchers of the bodies above (cuda_kernels/pooling.cu; CUDA builds only). n is the number of
/// work items: planes * pooled_h for the forward bodies, planes * height for the backward ones.
template <class T>
void launch_pooling_max_forward(Stream s, int64_t n, const kernels::PoolingArgs& a, const T* x,
                                T* y, int32_t* mask, T* top_mask);
template <class T>
void launch_pooling_ave_forward(Stream s, int64_t n, const kernels::PoolingArgs& a, const T* x,
                                T* y);
template <class T>
void launch_pooling_max_backward(Stream s, int64_t n, const kernels::PoolingArgs& a, const T* dy,
                                 const int32_t* mask, T* dx);
template <class T>
void launch_pooling_ave_backward(Stream s, int64_t n, const kernels::PoolingArgs& a, const T* dy,
                                 T* dx);

}  // namespace crema::cuda
