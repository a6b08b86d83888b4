/// Def-pooling kernel bodies (DeepID-Net deformation-constrained pooling, MODELS.md 2(a)-i).
#pragma once

#include <cstdint>

#include "core/hd.h"
#include "cuda_kernels/launch.h"

namespace crema::kernels {

/// Number of penalty components per channel: the quadratic basis (dx, dy, dx^2, dy^2).
inline constexpr int64_t kDefPoolingBasis = 4;

/// Geometry of def-pooling over planes (num * channels) of height x width. Output (oy, ox) is
/// anchored at (oy * stride - pad + radius, ox * stride - pad + radius); its window holds the
/// displacements |dy|, |dx| <= radius, numbered k = (dy + radius) * side + (dx + radius) with
/// side = 2 radius + 1.
struct DefPoolingArgs {
  int64_t channels, height, width;
  int64_t out_h, out_w;
  int64_t radius, stride, pad;
};

/// The deformation penalty a_c . (dx, dy, dx^2, dy^2) of one displacement; `pc` points at the
/// channel's 4 weights. Summed in a fixed order so every caller gets the same bits.
template <class T>
CREMA_HD inline T def_pooling_penalty(const T* pc, int64_t dx, int64_t dy) {
  const T fx = static_cast<T>(dx), fy = static_cast<T>(dy);
  return pc[0] * fx + pc[1] * fy + pc[2] * (fx * fx) + pc[3] * (fy * fy);
}

/// Forward. Work item: one output element, i in [0, planes * out_h * out_w), split as
/// i = (plane * out_h + oy) * out_w + ox, channel c = plane % channels. Scans the window in
/// row-major displacement order (dy outer, dx inner), skipping positions outside the map, and
/// keeps the first maximum of B = M(anchor + d) - penalty_c(d) (paper: B_c(x, y) = max_d
/// [M_c(s y + dy, s x + dx) - sum_k a_ck d_k(dx, dy)]). Writes y[i] (0 when no position is
/// inside), argmax[i] = k of the winner (-1 when none) and, when top_argmax is not null, the
/// same index as T. GATHER.
template <class T>
CREMA_HD inline void def_pooling_forward(int64_t i, const DefPoolingArgs& a, const T* x,
                                         const T* penalty, T* y, int32_t* argmax, T* top_argmax) {
  const int64_t ox = i % a.out_w;
  const int64_t oy = (i / a.out_w) % a.out_h;
  const int64_t plane = i / (a.out_w * a.out_h);
  const T* xp = x + plane * a.height * a.width;
  const T* pc = penalty + (plane % a.channels) * kDefPoolingBasis;
  const int64_t cy = oy * a.stride - a.pad + a.radius;
  const int64_t cx = ox * a.stride - a.pad + a.radius;
  const int64_t side = 2 * a.radius + 1;
  int64_t best = -1;
  T best_value = T(0);
  for (int64_t dy = -a.radius; dy <= a.radius; ++dy) {
    const int64_t h = cy + dy;
    if (h < 0 || h >= a.height) continue;
    for (int64_t dx = -a.radius; dx <= a.radius; ++dx) {
      const int64_t w = cx + dx;
      if (w < 0 || w >= a.width) continue;
      const T v = xp[h * a.width + w] - def_pooling_penalty(pc, dx, dy);
      if (best < 0 || v > best_value) {
        best_value = v;
        best = (dy + a.radius) * side + (dx + a.radius);
      }
    }
  }
  y[i] = best_value;
  argmax[i] = static_cast<int32_t>(best);
  if (top_argmax != nullptr) top_argmax[i] = static_cast<T>(best);
}

/// Backward to the input. Work item: one input element, i in [0, planes * height * width),
/// split as i = (plane * height + h) * width + w. Visits, in row-major output order, the
/// outputs whose window covers (h, w) (oy * stride - pad + radius within radius of h, and the
/// same along x) and sums dy over those whose argmax is the displacement that lands on (h, w)
/// (paper: dL/dM_c(pos*) += g). Writes dx[i] (=). GATHER.
template <class T>
CREMA_HD inline void def_pooling_backward_input(int64_t i, const DefPoolingArgs& a, const T* dy,
                                                const int32_t* argmax, T* dx) {
  const int64_t w = i % a.width;
  const int64_t h = (i / a.width) % a.height;
  const int64_t plane = i / (a.width * a.height);
  const int64_t side = 2 * a.radius + 1;
  // Output oy covers h when h + pad - 2 radius <= oy * stride <= h + pad.
  const int64_t ylo = h + a.pad - 2 * a.radius, xlo = w + a.pad - 2 * a.radius;
  const int64_t oy0 = ylo <= 0 ? 0 : (ylo + a.stride - 1) / a.stride;
  const int64_t oy1 = hd::min<int64_t>((h + a.pad) / a.stride, a.out_h - 1);
  const int64_t ox0 = xlo <= 0 ? 0 : (xlo + a.stride - 1) / a.stride;
  const int64_t ox1 = hd::min<int64_t>((w + a.pad) / a.stride, a.out_w - 1);
  const int64_t offset = plane * a.out_h * a.out_w;
  T sum = T(0);
  for (int64_t oy = oy0; oy <= oy1; ++oy) {
    const int64_t ky = h - (oy * a.stride - a.pad);  // dy + radius
    for (int64_t ox = ox0; ox <= ox1; ++ox) {
      const int64_t kx = w - (ox * a.stride - a.pad);
      const int64_t o = offset + oy * a.out_w + ox;
      if (argmax[o] == ky * side + kx) sum += dy[o];
    }
  }
  dx[i] = sum;
}

/// Backward to the penalty weights. Work item: one channel c, i in [0, channels). Sums, over
/// n, oy, ox in row-major order, g * d_k(dx*, dy*) at the stored argmax (outputs with argmax
/// -1 add nothing), then adds -sum to dpenalty[c * 4 + k] (+=, the net zeroes parameter
/// diffs) (paper: dL/da_ck = -sum_{n,x,y} g_n(x, y) d_k(dx*, dy*)). GATHER: the item owns its
/// 4 slots.
template <class T>
CREMA_HD inline void def_pooling_backward_penalty(int64_t i, const DefPoolingArgs& a, int64_t num,
                                                  const T* dy, const int32_t* argmax, T* dpenalty) {
  const int64_t side = 2 * a.radius + 1;
  const int64_t plane_size = a.out_h * a.out_w;
  T s0 = T(0), s1 = T(0), s2 = T(0), s3 = T(0);
  for (int64_t n = 0; n < num; ++n) {
    const int64_t offset = (n * a.channels + i) * plane_size;
    for (int64_t o = offset; o < offset + plane_size; ++o) {
      const int64_t k = argmax[o];
      if (k < 0) continue;
      const T fx = static_cast<T>(k % side - a.radius);
      const T fy = static_cast<T>(k / side - a.radius);
      const T g = dy[o];
      s0 += g * fx;
      s1 += g * fy;
      s2 += g * (fx * fx);
      s3 += g * (fy * fy);
    }
  }
  T* dp = dpenalty + i * kDefPoolingBasis;
  dp[0] += -s0;
  dp[1] += -s1;
  dp[2] += -s2;
  dp[3] += -s3;
}

}  // namespace crema::kernels

namespace crema::cuda {

/// Launchers of the bodies above (cuda_kernels/def_pooling.cu; CUDA builds only). n is the
/// number of work items of each body: outputs, inputs, channels.
template <class T>
void launch_def_pooling_forward(Stream s, int64_t n, const kernels::DefPoolingArgs& a, const T* x,
                                const T* penalty, T* y, int32_t* argmax, T* top_argmax);
template <class T>
void launch_def_pooling_backward_input(Stream s, int64_t n, const kernels::DefPoolingArgs& a,
                                       const T* dy, const int32_t* argmax, T* dx);
template <class T>
void launch_def_pooling_backward_penalty(Stream s, int64_t n, const kernels::DefPoolingArgs& a,
                                         int64_t num, const T* dy, const int32_t* argmax,
                                         T* dpenalty);

}  // namespace crema::cuda
