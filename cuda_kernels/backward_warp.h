/// Backward warping kernel bodies: out(p) = bilinear(in, p + flow(p)) (grid_sample in pixels).
#pragma once

#include <cmath>
#include <cstdint>

#include "core/hd.h"
#include "cuda_kernels/launch.h"

namespace crema::kernels {

/// Input, output and flow planes are all height x width; flow channel 0 is x, 1 is y.
struct BackwardWarpArgs {
  int64_t channels, height, width;
  bool border;  // BORDER padding: clamp the sample position; else ZEROS: outside reads 0
};

// Note [Backward warp sampling]
// Pixel p = (x, y) samples the input at s = (x + u, y + v). This is grid_sample's bilinear
// mode on grid = normalised(s) for either align_corners (both normalisations unnormalise back
// to s), with:
//  - ZEROS: corners (x0, y0) = floor(s), x1 = x0 + 1, y1 = y0 + 1; a corner outside the plane
//    reads 0 and takes no gradient. The derivative at integer s is the one of [x0, x0 + 1)
//    (the right side), as in torch.
//  - BORDER: s is first clamped to [0, W - 1] x [0, H - 1]; the derivative of the clamp is 0
//    at and beyond the borders (torch's clip_coordinates_set_grad).
//  - A non-finite s (NaN or infinite flow) samples nothing: output 0, gradients 0.
template <class T>
struct WarpTaps {
  int64_t x0, y0;
  T fx, fy;                 // s - (x0, y0), in [0, 1)
  T gx, gy;                 // derivative of the (clamped) sample position wrt s: 1 or 0
  bool vx0, vx1, vy0, vy1;  // which corner columns / rows lie inside the plane
};

// floor(v) as an integer for |v| < 2^62 (callers range-check first): a truncation and a
// compare, cheaper than std::floor without SSE4.1.
template <class T>
CREMA_HD inline int64_t warp_floor(T v) {
  const int64_t t = static_cast<int64_t>(v);
  return T(t) > v ? t - 1 : t;
}

// Sample position (sx, sy) -> taps; false when nothing is sampled. See Note [Backward warp
// sampling].
template <class T>
CREMA_HD inline bool warp_taps(const BackwardWarpArgs& a, T sx, T sy, WarpTaps<T>* t) {
  if (!(std::isfinite(sx) && std::isfinite(sy))) return false;
  const T max_x = T(a.width - 1), max_y = T(a.height - 1);
  t->gx = T(1);
  t->gy = T(1);
  if (a.border) {
    if (!(sx > T(0) && sx < max_x)) t->gx = T(0);
    if (!(sy > T(0) && sy < max_y)) t->gy = T(0);
    sx = hd::clamp(sx, T(0), max_x);
    sy = hd::clamp(sy, T(0), max_y);
  } else if (!(sx >= T(-1) && sx < T(a.width) && sy >= T(-1) && sy < T(a.height))) {
    return false;  // all four corners outside; also keeps the int64 conversion in range
  }
  t->x0 = warp_floor(sx);
  t->y0 = warp_floor(sy);
  t->fx = sx - T(t->x0);
  t->fy = sy - T(t->y0);
  t->vx0 = t->x0 >= 0;
  t->vx1 = t->x0 + 1 < a.width;
  t->vy0 = t->y0 >= 0;
  t->vy1 = t->y0 + 1 < a.height;
  return true;
}

// Note [Backward warp work items]
// Every body walks one plane at a time (an image row, or a whole plane), never across the
// channels of one pixel: with power-of-two planes the channels of a pixel alias to the same
// cache sets, and plane-wise walks keep the input rows, the flow and the output in cache.
// The sample taps are recomputed per channel; that costs less than the misses it avoids.

// Work item: one output row, i in [0, N * channels * height), i = (n * channels + c) * height
// + y. Reads flow[n, :, y, :] and the input plane x[n, c]; writes y[n, c, y, :] (=). GATHER.
// out(p) = sum_corners w_k in(corner_k). See Note [Backward warp work items].
template <class T>
CREMA_HD inline void backward_warp_forward(int64_t i, const BackwardWarpArgs& a, const T* x,
                                           const T* flow, T* y) {
  const int64_t plane = a.height * a.width;
  const int64_t row = i % a.height, nc = i / a.height, n = nc / a.channels;
  const T* fu = flow + (2 * n * a.height + row) * a.width;
  const T* fv = fu + plane;
  const T* in = x + nc * plane;
  T* out = y + i * a.width;
  for (int64_t col = 0; col < a.width; ++col) {
    WarpTaps<T> t;
    if (!warp_taps(a, T(col) + fu[col], T(row) + fv[col], &t)) {
      out[col] = T(0);
      continue;
    }
    const T w00 = (T(1) - t.fx) * (T(1) - t.fy), w01 = t.fx * (T(1) - t.fy);
    const T w10 = (T(1) - t.fx) * t.fy, w11 = t.fx * t.fy;
    // Corner offsets within the plane; only the valid ones are dereferenced.
    const int64_t o00 = t.y0 * a.width + t.x0, o10 = o00 + a.width;
    if (t.vx0 && t.vx1 && t.vy0 && t.vy1) {
      out[col] = w00 * in[o00] + w01 * in[o00 + 1] + w10 * in[o10] + w11 * in[o10 + 1];
      continue;
    }
    T v = T(0);
    if (t.vy0 && t.vx0) v += w00 * in[o00];
    if (t.vy0 && t.vx1) v += w01 * in[o00 + 1];
    if (t.vy1 && t.vx0) v += w10 * in[o10];
    if (t.vy1 && t.vx1) v += w11 * in[o10 + 1];
    out[col] = v;
  }
}

// Work item: one flow row, i in [0, N * height), i = n * height + y. Zeroes dflow[n, :, y, :],
// then for every channel c (in order) and pixel p of the row reads flow[n, :, p], dy[n, c, p]
// and the four corners of x[n, c], and adds dy times d out / d (u, v) to the row it owns:
// d out / d u = (1 - fy)(in01 - in00) + fy (in11 - in10), d out / d v = (1 - fx)(in10 - in00)
// + fx (in11 - in01) (corners outside read 0; BORDER's clamp multiplies by 0 or 1). GATHER
// (writes only its own rows, in a fixed order). See Note [Backward warp work items].
template <class T>
CREMA_HD inline void backward_warp_backward_flow(int64_t i, const BackwardWarpArgs& a, const T* x,
                                                 const T* flow, const T* dy, T* dflow) {
  const int64_t plane = a.height * a.width;
  const int64_t row = i % a.height, n = i / a.height;
  const int64_t row_off = (2 * n * a.height + row) * a.width;
  const T* fu = flow + row_off;
  const T* fv = fu + plane;
  T* du = dflow + row_off;
  T* dv = du + plane;
  for (int64_t col = 0; col < a.width; ++col) du[col] = dv[col] = T(0);
  for (int64_t c = 0; c < a.channels; ++c) {
    const T* in = x + (n * a.channels + c) * plane;
    const T* g = dy + (n * a.channels + c) * plane + row * a.width;
    for (int64_t col = 0; col < a.width; ++col) {
      WarpTaps<T> t;
      if (!warp_taps(a, T(col) + fu[col], T(row) + fv[col], &t)) continue;
      const int64_t o00 = t.y0 * a.width + t.x0, o10 = o00 + a.width;
      T v00, v01, v10, v11;
      if (t.vx0 && t.vx1 && t.vy0 && t.vy1) {
        v00 = in[o00], v01 = in[o00 + 1], v10 = in[o10], v11 = in[o10 + 1];
      } else {
        v00 = t.vy0 && t.vx0 ? in[o00] : T(0);
        v01 = t.vy0 && t.vx1 ? in[o00 + 1] : T(0);
        v10 = t.vy1 && t.vx0 ? in[o10] : T(0);
        v11 = t.vy1 && t.vx1 ? in[o10 + 1] : T(0);
      }
      const T gc = g[col];
      du[col] += t.gx * gc * ((T(1) - t.fy) * (v01 - v00) + t.fy * (v11 - v10));
      dv[col] += t.gy * gc * ((T(1) - t.fx) * (v10 - v00) + t.fx * (v11 - v01));
    }
  }
}

// Work item: one input plane, i in [0, N * channels), i = n * channels + c. Zeroes dx[n, c],
// then for every output pixel p (row-major) reads flow[n, :, p] and dy[n, c, p] and adds
// w_k * dy to the corner k of dx[n, c] (the adjoint of the forward's bilinear read). The
// plane is owned by this work item, so the adds need no atomics and their order is fixed:
// GATHER (deterministic; writes only its own slot, the plane).
template <class T>
CREMA_HD inline void backward_warp_backward_input(int64_t i, const BackwardWarpArgs& a,
                                                  const T* flow, const T* dy, T* dx) {
  const int64_t plane = a.height * a.width;
  const int64_t n = i / a.channels;
  const T* fu = flow + 2 * n * plane;
  const T* fv = fu + plane;
  const T* g = dy + i * plane;
  T* d = dx + i * plane;
  for (int64_t p = 0; p < plane; ++p) d[p] = T(0);
  for (int64_t yy = 0; yy < a.height; ++yy) {
    for (int64_t xx = 0; xx < a.width; ++xx) {
      const int64_t p = yy * a.width + xx;
      WarpTaps<T> t;
      if (!warp_taps(a, T(xx) + fu[p], T(yy) + fv[p], &t)) continue;
      const T gp = g[p];
      const T w00 = (T(1) - t.fx) * (T(1) - t.fy), w01 = t.fx * (T(1) - t.fy);
      const T w10 = (T(1) - t.fx) * t.fy, w11 = t.fx * t.fy;
      const int64_t o00 = t.y0 * a.width + t.x0, o10 = o00 + a.width;
      if (t.vx0 && t.vx1 && t.vy0 && t.vy1) {
        d[o00] += w00 * gp;
        d[o00 + 1] += w01 * gp;
        d[o10] += w10 * gp;
        d[o10 + 1] += w11 * gp;
        continue;
      }
      if (t.vy0 && t.vx0) d[o00] += w00 * gp;
      if (t.vy0 && t.vx1) d[o00 + 1] += w01 * gp;
      if (t.vy1 && t.vx0) d[o10] += w10 * gp;
      if (t.vy1 && t.vx1) d[o10 + 1] += w11 * gp;
    }
  }
}

}  // namespace crema::kernels

namespace crema::cuda {

/// Launchers of the bodies above (cuda_kernels/backward_warp.cu; CUDA builds only).
template <class T>
void launch_backward_warp_forward(Stream s, int64_t n, const kernels::BackwardWarpArgs& a,
                                  const T* x, const T* flow, T* y);
template <class T>
void launch_backward_warp_backward_flow(Stream s, int64_t n, const kernels::BackwardWarpArgs& a,
                                        const T* x, const T* flow, const T* dy, T* dflow);
template <class T>
void launch_backward_warp_backward_input(Stream s, int64_t n, const kernels::BackwardWarpArgs& a,
                                         const T* flow, const T* dy, T* dx);

}  // namespace crema::cuda
