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
// A first pass computes each pixel's taps once (offset, weights, derivative factors) into a
// buffer; the other bodies read them for every channel. Every body walks one plane at a time
// (an image row, or a whole plane), never across the channels of one pixel: with
// power-of-two planes the channels of a pixel alias to the same cache sets, while plane-wise
// walks keep the input rows, the taps and the output in cache.
template <class T>
struct WarpTap {
  int64_t o00;           // plane offset of corner 00 = (x0, y0); 01, 10, 11 at +1, +W, +W+1
  T w00, w01, w10, w11;  // bilinear weights
  T fx, fy;              // s - (x0, y0)
  T gx, gy;              // derivative of the (clamped) sample position wrt s: 1 or 0
  int32_t inside;        // bit k set: corner k (00, 01, 10, 11) inside; 0: samples nothing
};

// Work item: one pixel, i in [0, N * height * width), i = n * height * width + y * width + x.
// Reads flow[n, :, y, x]; writes taps[i] (=). GATHER. See Note [Backward warp sampling].
template <class T>
CREMA_HD inline void backward_warp_taps(int64_t i, const BackwardWarpArgs& a, const T* flow,
                                        WarpTap<T>* taps) {
  const int64_t plane = a.height * a.width;
  const int64_t n = i / plane, p = i % plane;
  const T* f = flow + 2 * n * plane + p;
  WarpTaps<T> t;
  WarpTap<T> out{};
  if (warp_taps(a, T(p % a.width) + f[0], T(p / a.width) + f[plane], &t)) {
    out.o00 = t.y0 * a.width + t.x0;
    out.w00 = (T(1) - t.fx) * (T(1) - t.fy);
    out.w01 = t.fx * (T(1) - t.fy);
    out.w10 = (T(1) - t.fx) * t.fy;
    out.w11 = t.fx * t.fy;
    out.fx = t.fx;
    out.fy = t.fy;
    out.gx = t.gx;
    out.gy = t.gy;
    out.inside = (t.vy0 && t.vx0 ? 1 : 0) | (t.vy0 && t.vx1 ? 2 : 0) | (t.vy1 && t.vx0 ? 4 : 0) |
                 (t.vy1 && t.vx1 ? 8 : 0);
  }
  taps[i] = out;
}

// Work item: one output row, i in [0, N * channels * height), i = (n * channels + c) * height
// + y. Reads taps[n, y, :] and the input plane x[n, c]; writes y[n, c, y, :] (=). GATHER.
// out(p) = sum over the corners k inside of w_k in(corner_k). See Note [Backward warp work
// items].
template <class T>
CREMA_HD inline void backward_warp_forward(int64_t i, const BackwardWarpArgs& a,
                                           const WarpTap<T>* taps, const T* x, T* y) {
  const int64_t plane = a.height * a.width;
  const int64_t row = i % a.height, nc = i / a.height, n = nc / a.channels;
  const WarpTap<T>* tr = taps + n * plane + row * a.width;
  const T* in = x + nc * plane;
  T* out = y + i * a.width;
  const int64_t down = a.width;
  for (int64_t col = 0; col < a.width; ++col) {
    const WarpTap<T>& t = tr[col];
    const int64_t o = t.o00;  // read only at corners inside
    if (t.inside == 15) {
      out[col] =
          t.w00 * in[o] + t.w01 * in[o + 1] + t.w10 * in[o + down] + t.w11 * in[o + down + 1];
      continue;
    }
    T v = T(0);
    if (t.inside & 1) v += t.w00 * in[o];
    if (t.inside & 2) v += t.w01 * in[o + 1];
    if (t.inside & 4) v += t.w10 * in[o + down];
    if (t.inside & 8) v += t.w11 * in[o + down + 1];
    out[col] = v;
  }
}

// Work item: one flow row, i in [0, N * height), i = n * height + y. Zeroes dflow[n, :, y, :],
// then for every channel c (in order, in blocks of 4) and pixel p of the row reads taps[n, p],
// dy[n, c, p] and the four corners of x[n, c], and adds dy times d out / d (u, v) to the row
// it owns:
// d out / d u = (1 - fy)(in01 - in00) + fy (in11 - in10), d out / d v = (1 - fx)(in10 - in00)
// + fx (in11 - in01) (corners outside read 0; BORDER's clamp multiplies by 0 or 1). GATHER
// (writes only its own rows, in a fixed order). See Note [Backward warp work items].
template <class T>
CREMA_HD inline void backward_warp_backward_flow(int64_t i, const BackwardWarpArgs& a,
                                                 const WarpTap<T>* taps, const T* x, const T* dy,
                                                 T* dflow) {
  const int64_t plane = a.height * a.width;
  const int64_t row = i % a.height, n = i / a.height;
  const WarpTap<T>* tr = taps + n * plane + row * a.width;
  T* du = dflow + (2 * n * a.height + row) * a.width;
  T* dv = du + plane;
  for (int64_t col = 0; col < a.width; ++col) du[col] = dv[col] = T(0);
  const int64_t down = a.width;
  // Channels in blocks of kBlock: one tap read and one du, dv update per block and pixel.
  constexpr int64_t kBlock = 4;
  for (int64_t c0 = 0; c0 < a.channels; c0 += kBlock) {
    const int64_t cn = hd::min(kBlock, a.channels - c0);
    const T* in0 = x + (n * a.channels + c0) * plane;
    const T* g0 = dy + (n * a.channels + c0) * plane + row * a.width;
    for (int64_t col = 0; col < a.width; ++col) {
      const WarpTap<T>& t = tr[col];
      if (t.inside == 0) continue;
      const int64_t o = t.o00;  // read only at corners inside
      T su = T(0), sv = T(0);
      for (int64_t k = 0; k < cn; ++k) {
        const T* in = in0 + k * plane;
        T v00, v01, v10, v11;
        if (t.inside == 15) {
          v00 = in[o], v01 = in[o + 1], v10 = in[o + down], v11 = in[o + down + 1];
        } else {
          v00 = t.inside & 1 ? in[o] : T(0);
          v01 = t.inside & 2 ? in[o + 1] : T(0);
          v10 = t.inside & 4 ? in[o + down] : T(0);
          v11 = t.inside & 8 ? in[o + down + 1] : T(0);
        }
        const T gc = g0[k * plane + col];
        su += gc * ((T(1) - t.fy) * (v01 - v00) + t.fy * (v11 - v10));
        sv += gc * ((T(1) - t.fx) * (v10 - v00) + t.fx * (v11 - v01));
      }
      du[col] += t.gx * su;
      dv[col] += t.gy * sv;
    }
  }
}

// Work item: one input plane, i in [0, N * channels), i = n * channels + c. Zeroes dx[n, c],
// then for every output pixel p (row-major) reads taps[n, p] and dy[n, c, p] and adds
// w_k * dy to the corners k inside of dx[n, c] (the adjoint of the forward's bilinear read).
// The plane is owned by this work item, so the adds need no atomics and their order is fixed:
// GATHER (deterministic; writes only its own slot, the plane).
template <class T>
CREMA_HD inline void backward_warp_backward_input(int64_t i, const BackwardWarpArgs& a,
                                                  const WarpTap<T>* taps, const T* dy, T* dx) {
  const int64_t plane = a.height * a.width;
  const WarpTap<T>* tn = taps + (i / a.channels) * plane;
  const T* g = dy + i * plane;
  T* d = dx + i * plane;
  for (int64_t p = 0; p < plane; ++p) d[p] = T(0);
  const int64_t down = a.width;
  for (int64_t p = 0; p < plane; ++p) {
    const WarpTap<T>& t = tn[p];
    const T gp = g[p];
    const int64_t o = t.o00;  // written only at corners inside
    if (t.inside == 15) {
      d[o] += t.w00 * gp;
      d[o + 1] += t.w01 * gp;
      d[o + down] += t.w10 * gp;
      d[o + down + 1] += t.w11 * gp;
      continue;
    }
    if (t.inside & 1) d[o] += t.w00 * gp;
    if (t.inside & 2) d[o + 1] += t.w01 * gp;
    if (t.inside & 4) d[o + down] += t.w10 * gp;
    if (t.inside & 8) d[o + down + 1] += t.w11 * gp;
  }
}

}  // namespace crema::kernels

namespace crema::cuda {

/// Launchers of the bodies above (cuda_kernels/backward_warp.cu; CUDA builds only).
template <class T>
void launch_backward_warp_taps(Stream s, int64_t n, const kernels::BackwardWarpArgs& a,
                               const T* flow, kernels::WarpTap<T>* taps);
template <class T>
void launch_backward_warp_forward(Stream s, int64_t n, const kernels::BackwardWarpArgs& a,
                                  const kernels::WarpTap<T>* taps, const T* x, T* y);
template <class T>
void launch_backward_warp_backward_flow(Stream s, int64_t n, const kernels::BackwardWarpArgs& a,
                                        const kernels::WarpTap<T>* taps, const T* x, const T* dy,
                                        T* dflow);
template <class T>
void launch_backward_warp_backward_input(Stream s, int64_t n, const kernels::BackwardWarpArgs& a,
                                         const kernels::WarpTap<T>* taps, const T* dy, T* dx);

}  // namespace crema::cuda
