/// PReLU kernel bodies (Caffe's PReLU: learnable negative slopes per channel or shared).
#pragma once

#include <cstdint>

#include "core/hd.h"
#include "cuda_kernels/launch.h"

namespace crema::kernels {

/// Layout of the bottom as (num, channels, dim), dim = product of the axes after 1.
struct PReluArgs {
  int64_t num, channels, dim;
  bool channel_shared;  ///< one slope for all channels (slope index 0)
};

/// Slope index of element i: its channel, or 0 when the slope is shared.
CREMA_HD inline int64_t prelu_slope_index(int64_t i, const PReluArgs& a) {
  return a.channel_shared ? 0 : (i / a.dim) % a.channels;
}

// Work item i: one element, channel c = (i / dim) % channels. Writes
// y[i] = max(x, 0) + slope[c] * min(x, 0). GATHER. y may alias x (in-place).
template <class T>
CREMA_HD inline void prelu_forward(int64_t i, const PReluArgs& a, const T* x, const T* slope,
                                   T* y) {
  const T v = x[i];
  y[i] = v > T(0) ? v : slope[prelu_slope_index(i, a)] * v;
}

// Work item i: one element. Reads the input x[i] (a saved copy when in-place) and dy[i]; writes
// dx[i] = dy * (x > 0 ? 1 : slope[c]). GATHER. dx may alias dy (in-place).
template <class T>
CREMA_HD inline void prelu_backward(int64_t i, const PReluArgs& a, const T* x, const T* slope,
                                    const T* dy, T* dx) {
  dx[i] = x[i] > T(0) ? dy[i] : slope[prelu_slope_index(i, a)] * dy[i];
}

// Work item c: one channel, c in [0, channels). Writes partial[c] = sum over n and k (in that
// order) of dy * x where x <= 0, at element (n * channels + c) * dim + k: the channel's slope
// gradient (summed over channels by the caller when the slope is shared). GATHER.
template <class T>
CREMA_HD inline void prelu_slope_backward(int64_t c, const PReluArgs& a, const T* x, const T* dy,
                                          T* partial) {
  T sum = T(0);
  for (int64_t n = 0; n < a.num; ++n) {
    const int64_t base = (n * a.channels + c) * a.dim;
    for (int64_t k = 0; k < a.dim; ++k) {
      const T v = x[base + k];
      if (v <= T(0)) sum += dy[base + k] * v;
    }
  }
  partial[c] = sum;
}

}  // namespace crema::kernels

namespace crema::cuda {

/// Launchers of the bodies above (cuda_kernels/prelu.cu; CUDA builds only).
template <class T>
void launch_prelu_forward(Stream s, int64_t n, const kernels::PReluArgs& a, const T* x,
                          const T* slope, T* y);
template <class T>
void launch_prelu_backward(Stream s, int64_t n, const kernels::PReluArgs& a, const T* x,
                           const T* slope, const T* dy, T* dx);
template <class T>
void launch_prelu_slope_backward(Stream s, int64_t n, const kernels::PReluArgs& a, const T* x,
                                 const T* dy, T* partial);

}  // namespace crema::cuda
