/// Power kernel bodies (Caffe's Power: y = (shift + scale * x)^power).
#pragma once

#include <cmath>
#include <cstdint>

#include "core/hd.h"
#include "cuda_kernels/launch.h"

namespace crema::kernels {

template <class T>
struct PowerArgs {
  T power, scale, shift;
};

// Work item i: one element. Writes y[i] = (shift + scale * x)^power. When power * scale == 0 the
// output does not depend on x and is the constant 1 (power 0) or shift^power (scale 0), as in
// Caffe. GATHER. y may alias x (in-place).
template <class T>
CREMA_HD inline void power_forward(int64_t i, const PowerArgs<T>& a, const T* x, T* y) {
  if (a.power == T(0)) {
    y[i] = T(1);
  } else if (a.scale == T(0)) {
    y[i] = std::pow(a.shift, a.power);
  } else {
    const T base = a.shift + a.scale * x[i];
    y[i] = a.power == T(1) ? base : std::pow(base, a.power);
  }
}

// Work item i: one element. Writes dx[i] = dy * power * scale * (shift + scale * x)^(power - 1)
// (0 when power * scale == 0; x is not read when power is 1 or power * scale is 0, which is what
// lets those cases run in-place). Computed directly rather than as Caffe's power * y / base, so a
// zero base gives the limit instead of 0 / 0. GATHER. dx may alias dy.
template <class T>
CREMA_HD inline void power_backward(int64_t i, const PowerArgs<T>& a, const T* x, const T* dy,
                                    T* dx) {
  const T diff_scale = a.power * a.scale;
  if (diff_scale == T(0)) {
    dx[i] = T(0);
  } else if (a.power == T(1)) {
    dx[i] = diff_scale * dy[i];
  } else {
    const T base = a.shift + a.scale * x[i];
    const T d = a.power == T(2) ? base : std::pow(base, a.power - T(1));
    dx[i] = diff_scale * d * dy[i];
  }
}

}  // namespace crema::kernels

namespace crema::cuda {

/// Launchers of the bodies above (cuda_kernels/power.cu; CUDA builds only).
template <class T>
void launch_power_forward(Stream s, int64_t n, const kernels::PowerArgs<T>& a, const T* x, T* y);
template <class T>
void launch_power_backward(Stream s, int64_t n, const kernels::PowerArgs<T>& a, const T* x,
                           const T* dy, T* dx);

}  // namespace crema::cuda
