/// Dropout kernel bodies (Caffe's Dropout) with counter-based masks.
#pragma once

#include <cstdint>

#include "core/hd.h"
#include "core/rng.h"
#include "cuda_kernels/launch.h"

namespace crema::kernels {

// Note [Counter-based dropout]
// The keep bit of element i in the layer's c-th TRAIN forward is
//   rng::uniform(ctx.seed, rng::hash_name(layer name) ^ c, i) >= p,
// a pure function of its inputs: no generator state is shared between threads, so the mask does
// not depend on the thread count or the device, and a resumed run needs only c (the layer's
// save_state) to draw the same masks as an uninterrupted one.

template <class T>
struct DropoutArgs {
  uint64_t seed;    ///< ctx.seed
  uint64_t stream;  ///< hash of the layer name XOR the forward-call counter
  float ratio;      ///< drop probability p in [0, 1)
  T scale;          ///< factor applied to kept elements, 1 / (1 - p)
};

// Work item i: one element. Keeps x[i] when uniform(seed, stream, i) >= p; writes mask[i]
// (1 kept, 0 dropped) and y[i] = x[i] * mask[i] * scale. GATHER. See Note [Counter-based dropout].
// y may alias x (in-place).
template <class T>
CREMA_HD inline void dropout_forward(int64_t i, const DropoutArgs<T>& a, const T* x, uint8_t* mask,
                                     T* y) {
  const bool keep = rng::uniform(a.seed, a.stream, static_cast<uint64_t>(i)) >= a.ratio;
  mask[i] = keep ? 1 : 0;
  y[i] = keep ? x[i] * a.scale : T(0);
}

// Work item i: one element. Reads mask[i] and dy[i]; writes dx[i] = dy * mask * scale. GATHER.
// dx may alias dy (in-place).
template <class T>
CREMA_HD inline void dropout_backward(int64_t i, T scale, const uint8_t* mask, const T* dy, T* dx) {
  dx[i] = mask[i] ? dy[i] * scale : T(0);
}

}  // namespace crema::kernels

namespace crema::cuda {

/// Launchers of the bodies above (cuda_kernels/dropout.cu; CUDA builds only).
template <class T>
void launch_dropout_forward(Stream s, int64_t n, const kernels::DropoutArgs<T>& a, const T* x,
                            uint8_t* mask, T* y);
template <class T>
void launch_dropout_backward(Stream s, int64_t n, T scale, const uint8_t* mask, const T* dy, T* dx);

}  // namespace crema::cuda
