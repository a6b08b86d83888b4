/// Deformable convolution v1 / v2 kernel bodies (Dai et al. 2017, Zhu et al. 2019; the
/// torchvision / mmcv formulation): deformable im2col, its adjoint for the input, and the
/// gradient of the offsets and masks.
#pragma once

#include <cmath>
#include <cstdint>

#include "core/hd.h"
#include "cuda_kernels/launch.h"

namespace crema::kernels {

/// Geometry of one chunk of `num` images. x is num x C x H x W; offset is
/// num x (DG * 2 * kh * kw) x out_h x out_w with channel (dg * kh * kw + k) * 2 holding Δy and
/// the next one Δx of tap k = ki * kw + kj (y before x); mask (v2) is
/// num x (DG * kh * kw) x out_h x out_w. The column matrix is (C * kh * kw) x (num * out_h *
/// out_w), row (c * kh + ki) * kw + kj, column n * out_h * out_w + p: the layout of Im2colArgs,
/// so the GEMMs of Convolution apply unchanged.
struct DeformConvArgs {
  int64_t channels, height, width;
  int64_t kernel_h, kernel_w;
  int64_t pad_h, pad_w;
  int64_t stride_h, stride_w;
  int64_t dilation_h, dilation_w;
  int64_t out_h, out_w;
  int64_t num;
  int64_t deformable_group;
  /// Channels per work item of deform_conv_input_backward; divides C / deformable_group.
  int64_t channel_block;
  bool modulated;
};

/// Bilinear sampling of a plane at (h, w) with zeros outside (torchvision's
/// bilinear_interpolate): the four corner indices and weights, with weight 0 and index 0 for a
/// corner outside the plane so every read stays in bounds. Positions with h <= -1, h >= H (same
/// for w), or NaN sample nothing (valid false, all weights 0).
template <class T>
struct BilinearTaps {
  int64_t idx[4];  // (low, low), (low, high), (high, low), (high, high) as (h, w)
  T lh, lw;        // fractional parts h - floor(h), w - floor(w)
  bool valid;
  bool in[4];  // corner inside the plane
};

template <class T>
CREMA_HD inline BilinearTaps<T> bilinear_taps(T h, T w, int64_t height, int64_t width) {
  BilinearTaps<T> t;
  // Written as a conjunction so NaN (all comparisons false) samples nothing.
  t.valid = h > T(-1) && h < T(height) && w > T(-1) && w < T(width);
  if (!t.valid) {
    t.lh = t.lw = T(0);
    for (int j = 0; j < 4; ++j) {
      t.idx[j] = 0;
      t.in[j] = false;
    }
    return t;
  }
  const T hf = std::floor(h), wf = std::floor(w);
  const int64_t h0 = static_cast<int64_t>(hf), w0 = static_cast<int64_t>(wf);
  t.lh = h - hf;
  t.lw = w - wf;
  const bool h0_in = h0 >= 0, h1_in = h0 + 1 < height;
  const bool w0_in = w0 >= 0, w1_in = w0 + 1 < width;
  t.in[0] = h0_in && w0_in;
  t.in[1] = h0_in && w1_in;
  t.in[2] = h1_in && w0_in;
  t.in[3] = h1_in && w1_in;
  t.idx[0] = t.in[0] ? h0 * width + w0 : 0;
  t.idx[1] = t.in[1] ? h0 * width + w0 + 1 : 0;
  t.idx[2] = t.in[2] ? (h0 + 1) * width + w0 : 0;
  t.idx[3] = t.in[3] ? (h0 + 1) * width + w0 + 1 : 0;
  return t;
}

/// Output pixels per work item of deform_conv_im2col: the item samples their positions once,
/// then writes runs of this many consecutive columns per channel.
inline constexpr int64_t kDeformIm2colBlock = 16;

/// Deformable im2col. Work item: a run of up to kDeformIm2colBlock consecutive output pixels of
/// one tap, one image and one deformable group, i in [0, num * DG * kh * kw * B) with
/// B = ceil(out_h * out_w / kDeformIm2colBlock), i = ((n * DG + dg) * B + b) * kh * kw + k (the
/// taps of one pixel run are neighbours, so consecutive items reread the same few rows of x
/// while they are in cache, and each writes whole cache lines),
/// pixels p in [b * block, min((b + 1) * block, out_h * out_w)). For each pixel it samples the
/// position p0 * stride - pad + dil * p_k + Δp_k (offsets of group dg) once; then for each
/// channel c of the group writes col[((c * kh * kw + k) * num + n) * P + p] = m_k * x_c(position)
/// (m_k = 1 for v1) for its pixels, a contiguous run. GATHER. y(p0) = Σ_k w_k · m_k · x(p0 + p_k +
/// Δp_k) (Dai et al. eq. 2, Zhu et al. eq. 1) then follows by a GEMM.
template <class T>
CREMA_HD inline void deform_conv_im2col(int64_t i, const DeformConvArgs& a, const T* x,
                                        const T* offset, const T* mask, T* col) {
  const int64_t taps = a.kernel_h * a.kernel_w, plane_out = a.out_h * a.out_w;
  const int64_t blocks = (plane_out + kDeformIm2colBlock - 1) / kDeformIm2colBlock;
  const int64_t k = i % taps;
  int64_t r = i / taps;
  const int64_t b = r % blocks;
  r /= blocks;
  const int64_t dg = r % a.deformable_group;
  const int64_t n = r / a.deformable_group;
  const int64_t group_tap = r * taps + k;  // (n * DG + dg) * kh * kw + k
  const int64_t ki = k / a.kernel_w, kj = k % a.kernel_w;
  const int64_t p0 = b * kDeformIm2colBlock;
  const int64_t len = hd::min(kDeformIm2colBlock, plane_out - p0);
  const T* off = offset + 2 * group_tap * plane_out + p0;
  const T* mk = a.modulated ? mask + group_tap * plane_out + p0 : nullptr;
  // Corner indices and weights of each pixel; outside corners (and samples outside the map)
  // get weight 0 and index 0, a harmless in-bounds read.
  int64_t idx[kDeformIm2colBlock][4];
  T wt[kDeformIm2colBlock][4];
  int64_t oh = p0 / a.out_w, ow = p0 % a.out_w;
  for (int64_t j = 0; j < len; ++j) {
    const T h = static_cast<T>(oh * a.stride_h - a.pad_h + ki * a.dilation_h) + off[j];
    const T w = static_cast<T>(ow * a.stride_w - a.pad_w + kj * a.dilation_w) + off[plane_out + j];
    const BilinearTaps<T> t = bilinear_taps(h, w, a.height, a.width);
    const T m = mk ? mk[j] : T(1);
    const T hh = T(1) - t.lh, hw = T(1) - t.lw;
    wt[j][0] = t.in[0] ? hh * hw * m : T(0);
    wt[j][1] = t.in[1] ? hh * t.lw * m : T(0);
    wt[j][2] = t.in[2] ? t.lh * hw * m : T(0);
    wt[j][3] = t.in[3] ? t.lh * t.lw * m : T(0);
    for (int q = 0; q < 4; ++q) idx[j][q] = t.idx[q];
    if (++ow == a.out_w) {
      ow = 0;
      ++oh;
    }
  }
  const int64_t per_group = a.channels / a.deformable_group;
  const int64_t c0 = dg * per_group;
  const int64_t row_stride = taps * a.num * plane_out;
  const int64_t plane = a.height * a.width;
  T* out = col + ((c0 * taps + k) * a.num + n) * plane_out + p0;
  const T* src = x + (n * a.channels + c0) * plane;
  for (int64_t c = 0; c < per_group; ++c, src += plane, out += row_stride)
    for (int64_t j = 0; j < len; ++j)
      out[j] = wt[j][0] * src[idx[j][0]] + wt[j][1] * src[idx[j][1]] + wt[j][2] * src[idx[j][2]] +
               wt[j][3] * src[idx[j][3]];
}

/// Work items of deform_conv_im2col for the chunk described by a.
inline int64_t deform_conv_im2col_items(const DeformConvArgs& a) {
  const int64_t plane_out = a.out_h * a.out_w;
  return a.deformable_group * a.kernel_h * a.kernel_w * a.num *
         ((plane_out + kDeformIm2colBlock - 1) / kDeformIm2colBlock);
}

/// Adjoint of deform_conv_im2col for the input: dx = Σ over (k, p) of m_k · bilinear weight ·
/// dcol. Work item: channel_block planes of one image, i in [0, num * C / channel_block),
/// i = n * (C / channel_block) + b, planes c in [b * channel_block, (b + 1) * channel_block)
/// (all in one deformable group). The item zeroes its planes, then walks the taps and output
/// pixels in a fixed order, samples the position once and adds m_k * weight_j * dcol into the
/// up to four corners of each of its planes. Only this item writes these planes, so the
/// result is deterministic with no atomics: GATHER.
template <class T>
CREMA_HD inline void deform_conv_input_backward(int64_t i, const DeformConvArgs& a, const T* offset,
                                                const T* mask, const T* dcol, T* dx) {
  const int64_t blocks = a.channels / a.channel_block;
  const int64_t n = i / blocks;
  const int64_t c0 = (i % blocks) * a.channel_block;
  const int64_t dg = c0 / (a.channels / a.deformable_group);
  const int64_t taps = a.kernel_h * a.kernel_w, plane_out = a.out_h * a.out_w;
  const int64_t plane = a.height * a.width;
  const int64_t row_stride = taps * a.num * plane_out;
  T* dst = dx + (n * a.channels + c0) * plane;
  for (int64_t j = 0; j < a.channel_block * plane; ++j) dst[j] = T(0);
  for (int64_t k = 0; k < taps; ++k) {
    const int64_t ki = k / a.kernel_w, kj = k % a.kernel_w;
    const int64_t group_tap = (n * a.deformable_group + dg) * taps + k;
    const T* off_y = offset + 2 * group_tap * plane_out;
    const T* off_x = off_y + plane_out;
    const T* mk = a.modulated ? mask + group_tap * plane_out : nullptr;
    const T* g_row = dcol + ((c0 * taps + k) * a.num + n) * plane_out;
    for (int64_t oh = 0; oh < a.out_h; ++oh) {
      const T h_base = static_cast<T>(oh * a.stride_h - a.pad_h + ki * a.dilation_h);
      for (int64_t ow = 0; ow < a.out_w; ++ow) {
        const int64_t p = oh * a.out_w + ow;
        const T h = h_base + off_y[p];
        const T w = static_cast<T>(ow * a.stride_w - a.pad_w + kj * a.dilation_w) + off_x[p];
        const BilinearTaps<T> t = bilinear_taps(h, w, a.height, a.width);
        if (!t.valid) continue;
        const T m = mk ? mk[p] : T(1);
        const T hh = T(1) - t.lh, hw = T(1) - t.lw;
        const T w0 = t.in[0] ? hh * hw * m : T(0), w1 = t.in[1] ? hh * t.lw * m : T(0);
        const T w2 = t.in[2] ? t.lh * hw * m : T(0), w3 = t.in[3] ? t.lh * t.lw * m : T(0);
        const T* g = g_row + p;
        T* d = dst;
        for (int64_t c = 0; c < a.channel_block; ++c, g += row_stride, d += plane) {
          const T gv = *g;
          // Outside corners have weight 0 and index 0: adding 0 there changes nothing.
          d[t.idx[0]] += w0 * gv;
          d[t.idx[1]] += w1 * gv;
          d[t.idx[2]] += w2 * gv;
          d[t.idx[3]] += w3 * gv;
        }
      }
    }
  }
}

/// Gradient of the offsets (and of the mask for v2). Work item: one (image, deformable group,
/// tap, output pixel), i = ((n * DG + dg) * kh * kw + k) * out_h * out_w + p, the index of its
/// mask element. Loops over the channels c of group dg, reading dcol and the four corners of
/// x_c, and accumulates in registers
///   ∂/∂Δy = Σ_c dcol · m · ((1 - lw)(v_hl - v_ll) + lw (v_hh - v_lh)),
///   ∂/∂Δx = Σ_c dcol · m · ((1 - lh)(v_lh - v_ll) + lh (v_hh - v_hl)),
///   ∂/∂m  = Σ_c dcol · bilinear(x_c),
/// then writes doffset (both coordinates) and dmask (v2, when non-null) once. Positions outside
/// (-1, H) x (-1, W) get zero gradients. GATHER.
template <class T>
CREMA_HD inline void deform_conv_offset_backward(int64_t i, const DeformConvArgs& a, const T* x,
                                                 const T* offset, const T* mask, const T* dcol,
                                                 T* doffset, T* dmask) {
  const int64_t taps = a.kernel_h * a.kernel_w, plane_out = a.out_h * a.out_w;
  const int64_t p = i % plane_out;
  const int64_t group_tap = i / plane_out;
  const int64_t k = group_tap % taps;
  const int64_t r = group_tap / taps;
  const int64_t dg = r % a.deformable_group;
  const int64_t n = r / a.deformable_group;
  const int64_t oh = p / a.out_w, ow = p % a.out_w;
  const int64_t ki = k / a.kernel_w, kj = k % a.kernel_w;
  const T* off = offset + 2 * group_tap * plane_out + p;
  const T m = a.modulated ? mask[i] : T(1);
  const T h = static_cast<T>(oh * a.stride_h - a.pad_h + ki * a.dilation_h) + off[0];
  const T w = static_cast<T>(ow * a.stride_w - a.pad_w + kj * a.dilation_w) + off[plane_out];
  const BilinearTaps<T> t = bilinear_taps(h, w, a.height, a.width);
  T gy = T(0), gx = T(0), gm = T(0);
  if (t.valid) {
    const int64_t per_group = a.channels / a.deformable_group;
    const int64_t c0 = dg * per_group;
    const int64_t row_stride = taps * a.num * plane_out;
    const int64_t plane = a.height * a.width;
    const T hh = T(1) - t.lh, hw = T(1) - t.lw;
    const T* g = dcol + ((c0 * taps + k) * a.num + n) * plane_out + p;
    const T* src = x + (n * a.channels + c0) * plane;
    for (int64_t c = 0; c < per_group; ++c, g += row_stride, src += plane) {
      const T v0 = t.in[0] ? src[t.idx[0]] : T(0), v1 = t.in[1] ? src[t.idx[1]] : T(0);
      const T v2 = t.in[2] ? src[t.idx[2]] : T(0), v3 = t.in[3] ? src[t.idx[3]] : T(0);
      const T gv = *g;
      gy += gv * (hw * (v2 - v0) + t.lw * (v3 - v1));
      gx += gv * (hh * (v1 - v0) + t.lh * (v3 - v2));
      gm += gv * (hh * (hw * v0 + t.lw * v1) + t.lh * (hw * v2 + t.lw * v3));
    }
  }
  if (doffset) {
    doffset[2 * group_tap * plane_out + p] = m * gy;
    doffset[(2 * group_tap + 1) * plane_out + p] = m * gx;
  }
  if (dmask) dmask[i] = gm;
}

}  // namespace crema::kernels

namespace crema::cuda {

/// Launchers of the bodies above (cuda_kernels/deform_conv.cu; CUDA builds only). n is the
/// body's work-item count.
template <class T>
void launch_deform_conv_im2col(Stream s, int64_t n, const kernels::DeformConvArgs& a, const T* x,
                               const T* offset, const T* mask, T* col);
template <class T>
void launch_deform_conv_input_backward(Stream s, int64_t n, const kernels::DeformConvArgs& a,
                                       const T* offset, const T* mask, const T* dcol, T* dx);
/// swap_leading_axes (cuda_kernels/im2col.h) between the GEMM layout of a chunk and the
/// layer's (images, channels, pixels) layout.
template <class T>
void launch_deform_conv_swap_axes(Stream s, int64_t n, int64_t d0, int64_t d1, int64_t inner,
                                  const T* src, T* dst);
template <class T>
void launch_deform_conv_offset_backward(Stream s, int64_t n, const kernels::DeformConvArgs& a,
                                        const T* x, const T* offset, const T* mask, const T* dcol,
                                        T* doffset, T* dmask);

}  // namespace crema::cuda
