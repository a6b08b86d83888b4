/// Local response normalization kernel bodies (Caffe's LRN, both norm regions).
#pragma once

#include <cmath>
#include <cstdint>

#include "core/hd.h"
#include "cuda_kernels/launch.h"

namespace crema::kernels {

/// Geometry and constants of LRN over a (num, channels, height, width) bottom. The window of a
/// pixel is the local_size = 2 * pre_pad + 1 neighbours centred on it (channels for
/// ACROSS_CHANNELS, a square in its plane for WITHIN_CHANNEL), zero outside the blob. The scale
/// is s = k + coeff * (sum of squares over the window) and y = x * s^-beta:
///   ACROSS_CHANNELS: coeff = alpha / local_size, k from the parameter;
///   WITHIN_CHANNEL:  coeff = alpha / local_size^2, k = 1 (Caffe's average pooling over a
///                    zero-padded local_size^2 window, then (1 + alpha * average)^-beta).
/// grad_coeff = 2 * alpha * beta / (local_size or local_size^2), the factor of the window term
/// of the gradient.
template <class T>
struct LrnArgs {
  int64_t channels, height, width;
  int64_t pre_pad;
  T k, coeff, beta, grad_coeff;
};

// Work item: one row, i in [0, num * channels * height), split as i = (n * C + c) * H + h.
// For each w, sums x^2 over channels [c - pre_pad, c + pre_pad] clipped to [0, C) in increasing
// order; writes scale[o] = k + coeff * sum and y[o] = x[o] * scale^-beta, o = i * W + w. GATHER.
template <class T>
CREMA_HD inline void lrn_across_forward(int64_t i, const LrnArgs<T>& a, const T* x, T* scale,
                                        T* y) {
  const int64_t plane = a.height * a.width;
  const int64_t c = (i / a.height) % a.channels;
  const int64_t c0 = hd::max<int64_t>(c - a.pre_pad, 0);
  const int64_t c1 = hd::min<int64_t>(c + a.pre_pad + 1, a.channels);
  const T* row = x + i * a.width;  // element (c', h, w) is row[(c' - c) * plane + w]
  for (int64_t w = 0; w < a.width; ++w) {
    T sum = T(0);
    for (int64_t cc = c0; cc < c1; ++cc) {
      const T v = row[(cc - c) * plane + w];
      sum += v * v;
    }
    const int64_t o = i * a.width + w;
    const T s = a.k + a.coeff * sum;
    scale[o] = s;
    y[o] = x[o] * std::pow(s, -a.beta);
  }
}

// Work item: one row, split as in lrn_across_forward. For each w writes
//   dx[o] = dy[o] * scale[o]^-beta
//           - grad_coeff * x[o] * sum over the channel window of dy * y / scale,
// (the window is symmetric, so the outputs whose window holds x[o] are its own window). GATHER.
template <class T>
CREMA_HD inline void lrn_across_backward(int64_t i, const LrnArgs<T>& a, const T* x, const T* y,
                                         const T* scale, const T* dy, T* dx) {
  const int64_t plane = a.height * a.width;
  const int64_t c = (i / a.height) % a.channels;
  const int64_t c0 = hd::max<int64_t>(c - a.pre_pad, 0);
  const int64_t c1 = hd::min<int64_t>(c + a.pre_pad + 1, a.channels);
  for (int64_t w = 0; w < a.width; ++w) {
    const int64_t o = i * a.width + w;
    T acc = T(0);
    for (int64_t cc = c0; cc < c1; ++cc) {
      const int64_t q = o + (cc - c) * plane;
      acc += dy[q] * y[q] / scale[q];
    }
    dx[o] = dy[o] * std::pow(scale[o], -a.beta) - a.grad_coeff * x[o] * acc;
  }
}

// Work item: one row, i in [0, num * channels * height), split as i = plane * H + h. For each w,
// sums x^2 over the square [h - pre_pad, h + pre_pad] x [w - pre_pad, w + pre_pad] clipped to the
// plane, row-major; writes scale[o] = k + coeff * sum and y[o] = x[o] * scale^-beta. GATHER.
template <class T>
CREMA_HD inline void lrn_within_forward(int64_t i, const LrnArgs<T>& a, const T* x, T* scale,
                                        T* y) {
  const int64_t h = i % a.height;
  const T* xp = x + (i - h) * a.width;  // the plane's first element
  const int64_t h0 = hd::max<int64_t>(h - a.pre_pad, 0);
  const int64_t h1 = hd::min<int64_t>(h + a.pre_pad + 1, a.height);
  for (int64_t w = 0; w < a.width; ++w) {
    const int64_t w0 = hd::max<int64_t>(w - a.pre_pad, 0);
    const int64_t w1 = hd::min<int64_t>(w + a.pre_pad + 1, a.width);
    T sum = T(0);
    for (int64_t hh = h0; hh < h1; ++hh) {
      for (int64_t ww = w0; ww < w1; ++ww) {
        const T v = xp[hh * a.width + ww];
        sum += v * v;
      }
    }
    const int64_t o = i * a.width + w;
    const T s = a.k + a.coeff * sum;
    scale[o] = s;
    y[o] = x[o] * std::pow(s, -a.beta);
  }
}

// Work item: one row, split as in lrn_within_forward. For each w writes
//   dx[o] = dy[o] * scale[o]^-beta - grad_coeff * x[o] * sum over the square window of
//           dy * y / scale   (row-major; symmetric windows, as in lrn_across_backward). GATHER.
template <class T>
CREMA_HD inline void lrn_within_backward(int64_t i, const LrnArgs<T>& a, const T* x, const T* y,
                                         const T* scale, const T* dy, T* dx) {
  const int64_t h = i % a.height;
  const int64_t start = (i - h) * a.width;  // the plane's first element
  const int64_t h0 = hd::max<int64_t>(h - a.pre_pad, 0);
  const int64_t h1 = hd::min<int64_t>(h + a.pre_pad + 1, a.height);
  for (int64_t w = 0; w < a.width; ++w) {
    const int64_t w0 = hd::max<int64_t>(w - a.pre_pad, 0);
    const int64_t w1 = hd::min<int64_t>(w + a.pre_pad + 1, a.width);
    T acc = T(0);
    for (int64_t hh = h0; hh < h1; ++hh) {
      for (int64_t ww = w0; ww < w1; ++ww) {
        const int64_t q = start + hh * a.width + ww;
        acc += dy[q] * y[q] / scale[q];
      }
    }
    const int64_t o = i * a.width + w;
    dx[o] = dy[o] * std::pow(scale[o], -a.beta) - a.grad_coeff * x[o] * acc;
  }
}

}  // namespace crema::kernels

namespace crema::cuda {

/// Launchers of the bodies above (cuda_kernels/lrn.cu; CUDA builds only); n = num * channels *
/// height rows.
template <class T>
void launch_lrn_across_forward(Stream s, int64_t n, const kernels::LrnArgs<T>& a, const T* x,
                               T* scale, T* y);
template <class T>
void launch_lrn_across_backward(Stream s, int64_t n, const kernels::LrnArgs<T>& a, const T* x,
                                const T* y, const T* scale, const T* dy, T* dx);
template <class T>
void launch_lrn_within_forward(Stream s, int64_t n, const kernels::LrnArgs<T>& a, const T* x,
                               T* scale, T* y);
template <class T>
void launch_lrn_within_backward(Stream s, int64_t n, const kernels::LrnArgs<T>& a, const T* x,
                                const T* y, const T* scale, const T* dy, T* dx);

}  // namespace crema::cuda
