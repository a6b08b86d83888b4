/// SPMC (sub-pixel motion compensation, Tao et al. ICCV'17) kernel bodies: forward bilinear
/// splatting of a low-resolution image onto an alpha-times larger grid, and its gradients.
#pragma once

#include <cstdint>

#include "core/hd.h"
#include "cuda_kernels/launch.h"

namespace crema::kernels {

/// Image and flow planes are height x width (LR); output planes (scale * height) x
/// (scale * width) (HR). Flow channel 0 is u (x), 1 is v (y), in LR pixels.
struct SpmcArgs {
  int64_t channels, height, width;
  int64_t scale;
};

// Note [SPMC splatting]
// LR pixel p = (x, y) lands at x^s = scale (x + u), y^s = scale (y + v) on the HR grid
// (top-left aligned: LR (0, 0) -> HR (0, 0), as SPMC's zero_upsampling). It adds J^L_p
// M(x^s - x_q) M(y^s - y_q), M(t) = max(0, 1 - |t|), to the HR pixels q = (x0 + b, y0 + a),
// (x0, y0) = floor(x^s, y^s), a, b in {0, 1}: weights (1 - fx, fx) x (1 - fy, fy) with
// (fx, fy) = (x^s, y^s) - (x0, y0). Targets outside the HR plane are dropped (no value, no
// derivative); there is no normalisation (collisions add, holes stay 0).
// Derivative convention: M' is taken one-sided from the right at integer positions, i.e. the
// derivative of the interval [x0, x0 + 1) that the forward's floor selects: d/dx^s of the
// weights (1 - fx, fx) is (-1, +1) even at fx = 0 (M'(0) = -1 on the x0 corner, M'(-1) = +1
// on the x0 + 1 corner, whose weight is 0 there). So d J^H / d u =
// scale J^L ((1 - fy)(g01 - g00) + fy (g11 - g10)) summed over channels, likewise for v.
// A non-finite x^s or y^s (NaN or infinite flow) splats nothing and takes no gradient; the
// range test before the integer conversion keeps huge finite flows in range as well.
template <class T>
struct SpmcTaps {
  int64_t x0, y0;
  T fx, fy;
  bool vx0, vx1, vy0, vy1;  // which target columns / rows lie inside the HR plane
};

// floor(v) as an integer for |v| < 2^62 (callers range-check first): a truncation and a
// compare, cheaper than std::floor without SSE4.1.
template <class T>
CREMA_HD inline int64_t spmc_floor(T v) {
  const int64_t t = static_cast<int64_t>(v);
  return T(t) > v ? t - 1 : t;
}

// LR pixel (x, y) with flow (u, v) -> taps; false when nothing lands inside the HR plane.
template <class T>
CREMA_HD inline bool spmc_taps(const SpmcArgs& a, int64_t x, int64_t y, T u, T v, SpmcTaps<T>* t) {
  const T s = T(a.scale);
  const T xs = s * (T(x) + u), ys = s * (T(y) + v);
  const int64_t out_w = a.scale * a.width, out_h = a.scale * a.height;
  // NaN and +-inf fail these tests too.
  if (!(xs >= T(-1) && xs < T(out_w) && ys >= T(-1) && ys < T(out_h))) return false;
  t->x0 = spmc_floor(xs);
  t->y0 = spmc_floor(ys);
  t->fx = xs - T(t->x0);
  t->fy = ys - T(t->y0);
  t->vx0 = t->x0 >= 0;
  t->vx1 = t->x0 + 1 < out_w;
  t->vy0 = t->y0 >= 0;
  t->vy1 = t->y0 + 1 < out_h;
  return true;
}

// Work item: one HR output plane, i in [0, N * channels), i = n * channels + c. Zeroes
// y[n, c], then splats every LR pixel p of image[n, c] (row-major order) with flow[n, :, p]:
// J^H_q += J^L_p M(x^s_p - x_q) M(y^s_p - y_q) (paper eq. for the differentiable sampler).
// The plane is owned by this work item, so the adds need no atomics and their order is fixed:
// GATHER (deterministic; writes only its own slot, the plane). See Note [SPMC splatting].
template <class T>
CREMA_HD inline void spmc_forward(int64_t i, const SpmcArgs& a, const T* image, const T* flow,
                                  T* y) {
  const int64_t plane = a.height * a.width;
  const int64_t out_w = a.scale * a.width, out_plane = plane * a.scale * a.scale;
  const int64_t n = i / a.channels;
  const T* fu = flow + 2 * n * plane;
  const T* fv = fu + plane;
  const T* img = image + i * plane;
  T* out = y + i * out_plane;
  for (int64_t q = 0; q < out_plane; ++q) out[q] = T(0);
  for (int64_t yy = 0; yy < a.height; ++yy) {
    for (int64_t xx = 0; xx < a.width; ++xx) {
      const int64_t p = yy * a.width + xx;
      SpmcTaps<T> t;
      if (!spmc_taps(a, xx, yy, fu[p], fv[p], &t)) continue;
      const T j = img[p];
      const T w00 = (T(1) - t.fx) * (T(1) - t.fy), w01 = t.fx * (T(1) - t.fy);
      const T w10 = (T(1) - t.fx) * t.fy, w11 = t.fx * t.fy;
      const int64_t o00 = t.y0 * out_w + t.x0, o10 = o00 + out_w;
      // Zero weights add nothing; skipping them keeps zero flow an exact zero-upsampling.
      if (t.vy0 && t.vx0 && w00 != T(0)) out[o00] += w00 * j;
      if (t.vy0 && t.vx1 && w01 != T(0)) out[o00 + 1] += w01 * j;
      if (t.vy1 && t.vx0 && w10 != T(0)) out[o10] += w10 * j;
      if (t.vy1 && t.vx1 && w11 != T(0)) out[o10 + 1] += w11 * j;
    }
  }
}

// Work item: one LR image element, i in [0, N * channels * height * width), i = (n * channels
// + c) * height * width + p. Reads flow[n, :, p] and its (up to) four HR grads dy[n, c, q];
// writes dimage[i] = sum_q M(x^s - x_q) M(y^s - y_q) dy[n, c, q] (=). GATHER.
template <class T>
CREMA_HD inline void spmc_backward_image(int64_t i, const SpmcArgs& a, const T* flow, const T* dy,
                                         T* dimage) {
  const int64_t plane = a.height * a.width;
  const int64_t out_w = a.scale * a.width, out_plane = plane * a.scale * a.scale;
  const int64_t p = i % plane, nc = i / plane, n = nc / a.channels;
  const T* f = flow + 2 * n * plane + p;
  SpmcTaps<T> t;
  if (!spmc_taps(a, p % a.width, p / a.width, f[0], f[plane], &t)) {
    dimage[i] = T(0);
    return;
  }
  const T* g = dy + nc * out_plane;
  const int64_t o00 = t.y0 * out_w + t.x0, o10 = o00 + out_w;
  T sum = T(0);
  if (t.vy0 && t.vx0) sum += (T(1) - t.fx) * (T(1) - t.fy) * g[o00];
  if (t.vy0 && t.vx1) sum += t.fx * (T(1) - t.fy) * g[o00 + 1];
  if (t.vy1 && t.vx0) sum += (T(1) - t.fx) * t.fy * g[o10];
  if (t.vy1 && t.vx1) sum += t.fx * t.fy * g[o10 + 1];
  dimage[i] = sum;
}

// Work item: one LR pixel, i in [0, N * height * width), i = n * height * width + p. Reads
// flow[n, :, p], image[n, :, p] and the four HR grads of every channel; writes dflow[n, 0, p]
// = scale sum_c J^L_c ((1 - fy)(g01 - g00) + fy (g11 - g10)) and dflow[n, 1, p] = scale sum_c
// J^L_c ((1 - fx)(g10 - g00) + fx (g11 - g01)) (=) once, g of dropped targets being 0.
// GATHER. See Note [SPMC splatting] for the one-sided derivative at integer positions.
template <class T>
CREMA_HD inline void spmc_backward_flow(int64_t i, const SpmcArgs& a, const T* image, const T* flow,
                                        const T* dy, T* dflow) {
  const int64_t plane = a.height * a.width;
  const int64_t out_w = a.scale * a.width, out_plane = plane * a.scale * a.scale;
  const int64_t n = i / plane, p = i % plane;
  const T* f = flow + 2 * n * plane + p;
  T* df = dflow + 2 * n * plane + p;
  SpmcTaps<T> t;
  if (!spmc_taps(a, p % a.width, p / a.width, f[0], f[plane], &t)) {
    df[0] = T(0);
    df[plane] = T(0);
    return;
  }
  const int64_t o00 = t.y0 * out_w + t.x0, o01 = o00 + 1, o10 = o00 + out_w, o11 = o10 + 1;
  const bool k00 = t.vy0 && t.vx0, k01 = t.vy0 && t.vx1, k10 = t.vy1 && t.vx0, k11 = t.vy1 && t.vx1;
  T du = T(0), dv = T(0);
  for (int64_t c = 0; c < a.channels; ++c) {
    const T* g = dy + (n * a.channels + c) * out_plane;
    const T j = image[(n * a.channels + c) * plane + p];
    const T g00 = k00 ? g[o00] : T(0), g01 = k01 ? g[o01] : T(0);
    const T g10 = k10 ? g[o10] : T(0), g11 = k11 ? g[o11] : T(0);
    du += j * ((T(1) - t.fy) * (g01 - g00) + t.fy * (g11 - g10));
    dv += j * ((T(1) - t.fx) * (g10 - g00) + t.fx * (g11 - g01));
  }
  df[0] = T(a.scale) * du;
  df[plane] = T(a.scale) * dv;
}

}  // namespace crema::kernels

namespace crema::cuda {

/// Launchers of the bodies above (cuda_kernels/spmc.cu; CUDA builds only).
template <class T>
void launch_spmc_forward(Stream s, int64_t n, const kernels::SpmcArgs& a, const T* image,
                         const T* flow, T* y);
template <class T>
void launch_spmc_backward_image(Stream s, int64_t n, const kernels::SpmcArgs& a, const T* flow,
                                const T* dy, T* dimage);
template <class T>
void launch_spmc_backward_flow(Stream s, int64_t n, const kernels::SpmcArgs& a, const T* image,
                               const T* flow, const T* dy, T* dflow);

}  // namespace crema::cuda
