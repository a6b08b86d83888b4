/// Locally connected (unshared) convolution kernel bodies (DeepID; MODELS.md 3.1).
#pragma once

#include <cstdint>

#include "core/hd.h"
#include "cuda_kernels/launch.h"

namespace crema::kernels {

/// Geometry: x (num, channels, height, width), y (num, num_output, out_h, out_w). Position
/// l = oy * out_w + ox has its own filter bank weight[l] of shape (num_output, taps), taps =
/// channels * kernel^2 ordered (c, kh, kw); its window starts at (oy, ox) * stride - pad and
/// reads zeros outside the image. bias has shape (num_output, out_h * out_w).
struct LocallyConnectedArgs {
  int64_t num, channels, height, width;
  int64_t num_output, out_h, out_w;
  int64_t kernel, stride, pad;
};

/// Forward. Work item: one output element, i in [0, num * num_output * L), L = out_h * out_w,
/// split as i = (n * num_output + o) * L + l. Sums weight[l, o, (c, kh, kw)] * x[n, c, h, w]
/// over the in-image taps in (c, kh, kw) order, then adds bias[o, l] when bias is not null
/// (paper: y_o(p) = sum_{c,u} w_{p,o,c,u} x_c(p s - pad + u) + b_o(p)). Writes y[i]. GATHER.
template <class T>
CREMA_HD inline void locally_connected_forward(int64_t i, const LocallyConnectedArgs& a, const T* x,
                                               const T* weight, const T* bias, T* y) {
  const int64_t positions = a.out_h * a.out_w;
  const int64_t l = i % positions;
  const int64_t o = (i / positions) % a.num_output;
  const int64_t n = i / (positions * a.num_output);
  const int64_t h0 = (l / a.out_w) * a.stride - a.pad;
  const int64_t w0 = (l % a.out_w) * a.stride - a.pad;
  const int64_t taps = a.channels * a.kernel * a.kernel;
  const T* wp = weight + (l * a.num_output + o) * taps;
  T sum = T(0);
  for (int64_t c = 0; c < a.channels; ++c) {
    const T* xp = x + (n * a.channels + c) * a.height * a.width;
    for (int64_t kh = 0; kh < a.kernel; ++kh) {
      const int64_t h = h0 + kh;
      if (h < 0 || h >= a.height) continue;
      for (int64_t kw = 0; kw < a.kernel; ++kw) {
        const int64_t w = w0 + kw;
        if (w < 0 || w >= a.width) continue;
        sum += wp[(c * a.kernel + kh) * a.kernel + kw] * xp[h * a.width + w];
      }
    }
  }
  if (bias != nullptr) sum += bias[o * positions + l];
  y[i] = sum;
}

/// Backward to the input. Work item: one input element, i in [0, num * channels * H * W),
/// split as i = ((n * channels + c) * H + h) * W + w. Visits the positions whose window covers
/// (h, w) in row-major order and, for each, the outputs o in order, summing
/// dy[n, o, l] * weight[l, o, (c, h - h0, w - w0)]. Writes dx[i] (=). GATHER.
template <class T>
CREMA_HD inline void locally_connected_backward_input(int64_t i, const LocallyConnectedArgs& a,
                                                      const T* dy, const T* weight, T* dx) {
  const int64_t w = i % a.width;
  const int64_t h = (i / a.width) % a.height;
  const int64_t c = (i / (a.width * a.height)) % a.channels;
  const int64_t n = i / (a.width * a.height * a.channels);
  const int64_t positions = a.out_h * a.out_w;
  const int64_t taps = a.channels * a.kernel * a.kernel;
  // Position oy covers h when h + pad - kernel < oy * stride <= h + pad.
  const int64_t ylo = h + a.pad - a.kernel + 1, xlo = w + a.pad - a.kernel + 1;
  const int64_t oy0 = ylo <= 0 ? 0 : (ylo + a.stride - 1) / a.stride;
  const int64_t oy1 = hd::min<int64_t>((h + a.pad) / a.stride, a.out_h - 1);
  const int64_t ox0 = xlo <= 0 ? 0 : (xlo + a.stride - 1) / a.stride;
  const int64_t ox1 = hd::min<int64_t>((w + a.pad) / a.stride, a.out_w - 1);
  T sum = T(0);
  for (int64_t oy = oy0; oy <= oy1; ++oy) {
    const int64_t kh = h - (oy * a.stride - a.pad);
    for (int64_t ox = ox0; ox <= ox1; ++ox) {
      const int64_t kw = w - (ox * a.stride - a.pad);
      const int64_t l = oy * a.out_w + ox;
      const int64_t tap = (c * a.kernel + kh) * a.kernel + kw;
      for (int64_t o = 0; o < a.num_output; ++o)
        sum += dy[(n * a.num_output + o) * positions + l] *
               weight[(l * a.num_output + o) * taps + tap];
    }
  }
  dx[i] = sum;
}

/// Backward to the weights. Work item: one weight, i in [0, L * num_output * taps), split as
/// i = (l * num_output + o) * taps + (c * kernel + kh) * kernel + kw. Sums, over n in order,
/// dy[n, o, l] * x[n, c, h, w] for its tap's input pixel (nothing when that pixel is padding),
/// and adds it to dweight[i] (+=). GATHER.
template <class T>
CREMA_HD inline void locally_connected_backward_weight(int64_t i, const LocallyConnectedArgs& a,
                                                       const T* x, const T* dy, T* dweight) {
  const int64_t kw = i % a.kernel;
  const int64_t kh = (i / a.kernel) % a.kernel;
  const int64_t c = (i / (a.kernel * a.kernel)) % a.channels;
  const int64_t o = (i / (a.kernel * a.kernel * a.channels)) % a.num_output;
  const int64_t l = i / (a.kernel * a.kernel * a.channels * a.num_output);
  const int64_t h = (l / a.out_w) * a.stride - a.pad + kh;
  const int64_t w = (l % a.out_w) * a.stride - a.pad + kw;
  if (h < 0 || h >= a.height || w < 0 || w >= a.width) return;
  const int64_t positions = a.out_h * a.out_w;
  T sum = T(0);
  for (int64_t n = 0; n < a.num; ++n)
    sum += dy[(n * a.num_output + o) * positions + l] *
           x[((n * a.channels + c) * a.height + h) * a.width + w];
  dweight[i] += sum;
}

/// Backward to the bias. Work item: one bias, i in [0, num_output * L), split as
/// i = o * L + l. Sums dy[n, o, l] over n in order and adds it to dbias[i] (+=). GATHER.
template <class T>
CREMA_HD inline void locally_connected_backward_bias(int64_t i, const LocallyConnectedArgs& a,
                                                     const T* dy, T* dbias) {
  const int64_t per_sample = a.num_output * a.out_h * a.out_w;
  T sum = T(0);
  for (int64_t n = 0; n < a.num; ++n) sum += dy[n * per_sample + i];
  dbias[i] += sum;
}

}  // namespace crema::kernels

namespace crema::cuda {

/// Launchers of the bodies above (cuda_kernels/locally_connected.cu; CUDA builds only). n is
/// the number of work items of each body: outputs, inputs, weights, biases. bias may be null.
template <class T>
void launch_locally_connected_forward(Stream s, int64_t n, const kernels::LocallyConnectedArgs& a,
                                      const T* x, const T* weight, const T* bias, T* y);
template <class T>
void launch_locally_connected_backward_input(Stream s, int64_t n,
                                             const kernels::LocallyConnectedArgs& a, const T* dy,
                                             const T* weight, T* dx);
template <class T>
void launch_locally_connected_backward_weight(Stream s, int64_t n,
                                              const kernels::LocallyConnectedArgs& a, const T* x,
                                              const T* dy, T* dweight);
template <class T>
void launch_locally_connected_backward_bias(Stream s, int64_t n,
                                            const kernels::LocallyConnectedArgs& a, const T* dy,
                                            T* dbias);

}  // namespace crema::cuda
