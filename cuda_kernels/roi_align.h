/// RoIAlign bodies (He et al., Mask R-CNN), with torchvision.ops.roi_align semantics.
#pragma once

#include <cmath>
#include <cstdint>

#include "core/hd.h"
#include "cuda_kernels/launch.h"

namespace crema::kernels {

template <class T>
struct RoiAlignArgs {
  int64_t num_rois = 0, batch = 0, channels = 0, height = 0, width = 0;
  int64_t pooled_h = 0, pooled_w = 0;
  T spatial_scale = T(1);
  int sampling_ratio = 0;      // <= 0: ceil(roi size / pooled size) samples per bin and axis
  bool aligned = false;        // true: pixel centres at +0.5 (coordinates shifted by -0.5)
  int64_t channel_blocks = 0;  // ceil(channels / kRoiAlignChannelBlock)
};

/// Channels one work item covers: interpolation weights are computed once per block.
inline constexpr int kRoiAlignChannelBlock = 16;

/// Bilinear samples one forward work item buffers before applying them to every channel.
inline constexpr int kRoiAlignSampleChunk = 16;

/// One RoI on the feature map. batch < 0 marks a RoI that pools nothing (bad batch index).
template <class T>
struct RoiAlignBox {
  int64_t batch;
  T start_h, start_w, bin_h, bin_w;
  T end_h;  // start_h + the (clamped) RoI height: all vertical samples lie in [start_h, end_h]
  int grid_h, grid_w;
  T count;  // max(grid_h * grid_w, 1): the divisor of each bin's sum
};

/// Samples per bin are capped so their product stays an int; only RoIs over 2^15 feature pixels
/// per bin (far beyond any feature map) reach the cap.
inline constexpr int kRoiAlignMaxGrid = 1 << 15;

// Work item i: one RoI. Reads rois[5i .. 5i+4] = (batch, x1, y1, x2, y2); writes boxes[i] only.
// GATHER. start = x * spatial_scale - (aligned ? 0.5 : 0); size = end - start (at least 1 when not
// aligned); bin = size / pooled; grid = sampling_ratio, or ceil(size / pooled) when <= 0.
template <class T>
CREMA_HD inline void roi_align_geometry(int64_t i, const RoiAlignArgs<T>& a, const T* rois,
                                        RoiAlignBox<T>* boxes) {
  const T* roi = rois + 5 * i;
  RoiAlignBox<T> b{};
  const T offset = a.aligned ? T(0.5) : T(0);
  b.start_w = roi[1] * a.spatial_scale - offset;
  b.start_h = roi[2] * a.spatial_scale - offset;
  T roi_w = roi[3] * a.spatial_scale - offset - b.start_w;
  T roi_h = roi[4] * a.spatial_scale - offset - b.start_h;
  if (!a.aligned) {
    roi_w = hd::max(roi_w, T(1));
    roi_h = hd::max(roi_h, T(1));
  }
  b.end_h = b.start_h + roi_h;
  b.bin_h = roi_h / static_cast<T>(a.pooled_h);
  b.bin_w = roi_w / static_cast<T>(a.pooled_w);
  const T max_grid = static_cast<T>(kRoiAlignMaxGrid);
  // Negative or NaN sizes give no samples (the bin loops would not run in torchvision either).
  const T gh = std::ceil(roi_h / static_cast<T>(a.pooled_h));
  const T gw = std::ceil(roi_w / static_cast<T>(a.pooled_w));
  b.grid_h = a.sampling_ratio > 0 ? a.sampling_ratio
                                  : (gh > T(0) ? static_cast<int>(hd::min(gh, max_grid)) : 0);
  b.grid_w = a.sampling_ratio > 0 ? a.sampling_ratio
                                  : (gw > T(0) ? static_cast<int>(hd::min(gw, max_grid)) : 0);
  // Non-finite coordinates (x - x is not 0 for NaN and inf) sample nothing, so the output is 0
  // (torchvision's int conversions are undefined there).
  const T d =
      (b.start_h - b.start_h) + (b.start_w - b.start_w) + (b.bin_h - b.bin_h) + (b.bin_w - b.bin_w);
  if (!(d == T(0))) b.grid_h = b.grid_w = 0;
  b.count = static_cast<T>(hd::max(b.grid_h * b.grid_w, 1));
  const bool ok = roi[0] >= T(0) && roi[0] < static_cast<T>(a.batch);
  b.batch = ok ? static_cast<int64_t>(roi[0]) : -1;
  boxes[i] = b;
}

/// Linear interpolation along one axis: value = w_lo * v[lo] + w_hi * v[hi].
template <class T>
struct RoiAlignLerp {
  int lo, hi;
  T w_lo, w_hi;
};

// torchvision's bilinear rule along one axis of length `size`: a sample outside [-1, size] (or
// NaN) gives false; otherwise it is clamped to >= 0 and the last row replicates.
template <class T>
CREMA_HD inline bool roi_align_lerp(T v, int64_t size, RoiAlignLerp<T>* l) {
  if (!(v >= T(-1) && v <= static_cast<T>(size))) return false;
  if (v <= T(0)) v = T(0);
  l->lo = static_cast<int>(v);
  const int last = static_cast<int>(size) - 1;
  if (l->lo >= last) {
    l->lo = l->hi = last;
    v = static_cast<T>(last);
  } else {
    l->hi = l->lo + 1;
  }
  l->w_hi = v - static_cast<T>(l->lo);
  l->w_lo = T(1) - l->w_hi;
  return true;
}

// Sample k (= bin p * grid + j) along one axis, exactly as torchvision forms it.
template <class T>
CREMA_HD inline T roi_align_sample(T start, T bin, int grid, int64_t p, int j) {
  return start + static_cast<T>(p) * bin + static_cast<T>(j + T(0.5)) * bin / static_cast<T>(grid);
}

// Adds m buffered samples (4 feature offsets and weights each) to the running sums
// out[j * stride] of channels c0 + j, j < nc; feat points at channel c0 of the RoI's image.
template <class T>
CREMA_HD inline void roi_align_apply(const RoiAlignArgs<T>& a, const int (*off)[4],
                                     const T (*wt)[4], int m, const T* feat, int nc, T* out,
                                     int64_t stride) {
  const int64_t plane = a.height * a.width;
  T acc[kRoiAlignChannelBlock];
  for (int j = 0; j < nc; ++j) acc[j] = out[j * stride];
  for (int s = 0; s < m; ++s) {
    const int o0 = off[s][0], o1 = off[s][1], o2 = off[s][2], o3 = off[s][3];
    const T w0 = wt[s][0], w1 = wt[s][1], w2 = wt[s][2], w3 = wt[s][3];
    for (int j = 0; j < nc; ++j) {
      const T* q = feat + j * plane;
      acc[j] += w0 * q[o0] + w1 * q[o1] + w2 * q[o2] + w3 * q[o3];
    }
  }
  for (int j = 0; j < nc; ++j) out[j * stride] = acc[j];
}

// Work item i: one RoI r and a block of up to kRoiAlignChannelBlock channels,
// i = r * channel_blocks + block. Reads boxes[r] and the block's feature planes of the RoI's
// image; writes y[((r * C + c) * PH + ph) * PW + pw] for the block's channels only. GATHER.
// Mask R-CNN RoIAlign: y = (1 / count) * sum_{iy, ix} bilinear(x, sample(ph, iy),
// sample(pw, ix)); samples outside [-1, size] add 0 but still count. Each sample's weights are
// computed once per block (up to kRoiAlignSampleChunk buffered at a time), and each channel's
// sum runs over the samples in torchvision's (iy, ix) order. A block's planes stay in cache
// across the RoI's bins.
template <class T>
CREMA_HD inline void roi_align_forward(int64_t i, const RoiAlignArgs<T>& a,
                                       const RoiAlignBox<T>* boxes, const T* x, T* y) {
  const int64_t block = i % a.channel_blocks;
  const int64_t r = i / a.channel_blocks;
  const int64_t c0 = block * kRoiAlignChannelBlock;
  const int nc = static_cast<int>(hd::min<int64_t>(kRoiAlignChannelBlock, a.channels - c0));
  const int64_t bins = a.pooled_h * a.pooled_w;
  T* out_block = y + (r * a.channels + c0) * bins;  // channel c0 + j, bin k at [j * bins + k]
  for (int64_t k = 0; k < nc * bins; ++k) out_block[k] = T(0);
  const RoiAlignBox<T> b = boxes[r];
  if (b.batch < 0) return;
  const T* feat = x + (b.batch * a.channels + c0) * a.height * a.width;
  int off[kRoiAlignSampleChunk][4];
  T wt[kRoiAlignSampleChunk][4];
  for (int64_t ph = 0; ph < a.pooled_h; ++ph) {
    for (int64_t pw = 0; pw < a.pooled_w; ++pw) {
      T* out = out_block + ph * a.pooled_w + pw;
      int m = 0;
      for (int iy = 0; iy < b.grid_h; ++iy) {
        RoiAlignLerp<T> ly;
        if (!roi_align_lerp(roi_align_sample(b.start_h, b.bin_h, b.grid_h, ph, iy), a.height, &ly))
          continue;
        const int row_lo = ly.lo * static_cast<int>(a.width);
        const int row_hi = ly.hi * static_cast<int>(a.width);
        for (int ix = 0; ix < b.grid_w; ++ix) {
          RoiAlignLerp<T> lx;
          if (!roi_align_lerp(roi_align_sample(b.start_w, b.bin_w, b.grid_w, pw, ix), a.width, &lx))
            continue;
          off[m][0] = row_lo + lx.lo;
          off[m][1] = row_lo + lx.hi;
          off[m][2] = row_hi + lx.lo;
          off[m][3] = row_hi + lx.hi;
          wt[m][0] = ly.w_lo * lx.w_lo;
          wt[m][1] = ly.w_lo * lx.w_hi;
          wt[m][2] = ly.w_hi * lx.w_lo;
          wt[m][3] = ly.w_hi * lx.w_hi;
          if (++m == kRoiAlignSampleChunk) {
            roi_align_apply(a, off, wt, m, feat, nc, out, bins);
            m = 0;
          }
        }
      }
      if (m > 0) roi_align_apply(a, off, wt, m, feat, nc, out, bins);
      for (int j = 0; j < nc; ++j) out[j * bins] /= b.count;
    }
  }
}

// Work item i: one feature row h of image n for a block of up to kRoiAlignChannelBlock
// channels, i = (n * H + h) * channel_blocks + block. Loops over the RoIs of image n, the
// vertical samples whose interpolation touches row h, and all horizontal samples of their bins;
// reads boxes and dy; writes dx[((n * C + c) * H + h) * W + w] for the block's channels only.
// GATHER (deterministic, no atomics): dx(h, w) = sum over samples s of dy_bin(s) / count *
// w_y(s, h) * w_x(s, w), the adjoint of the forward sum.
template <class T>
CREMA_HD inline void roi_align_backward(int64_t i, const RoiAlignArgs<T>& a,
                                        const RoiAlignBox<T>* boxes, const T* dy, T* dx) {
  const int64_t block = i % a.channel_blocks;
  const int64_t h = (i / a.channel_blocks) % a.height;
  const int64_t n = i / (a.channel_blocks * a.height);
  const int64_t c0 = block * kRoiAlignChannelBlock;
  const int nc = static_cast<int>(hd::min<int64_t>(kRoiAlignChannelBlock, a.channels - c0));
  const int64_t plane = a.height * a.width;
  T* rows = dx + (n * a.channels + c0) * plane + h * a.width;  // channel c0 + j at rows[j * plane]
  for (int j = 0; j < nc; ++j)
    for (int64_t w = 0; w < a.width; ++w) rows[j * plane + w] = T(0);
  // Samples in [lo_y, hi_y] can touch row h: (h - 1, h + 1), plus the clamped bands [-1, 0] for
  // the first row and [H - 1, H] for the last.
  const T lo_y = h == 0 ? T(-1) : static_cast<T>(h - 1);
  const T hi_y = h == a.height - 1 ? static_cast<T>(a.height) : static_cast<T>(h + 1);
  const int64_t bins = a.pooled_h * a.pooled_w;
  T g[kRoiAlignChannelBlock];
  for (int64_t r = 0; r < a.num_rois; ++r) {
    const RoiAlignBox<T> b = boxes[r];
    if (b.batch != n || b.grid_h <= 0 || b.grid_w <= 0) continue;
    const int64_t samples = a.pooled_h * b.grid_h;
    const T step = b.bin_h / static_cast<T>(b.grid_h);
    int64_t k0 = 0, k1 = samples;
    if (step > T(0)) {
      if (b.start_h > hi_y + T(1) || b.end_h < lo_y - T(1)) continue;
      // Sample k sits near start + (k + 0.5) * step; one extra sample each side absorbs rounding.
      const T f0 = std::floor((lo_y - b.start_h) / step - T(0.5)) - T(1);
      const T f1 = std::ceil((hi_y - b.start_h) / step - T(0.5)) + T(2);
      if (!(f1 >= T(0) && f0 < static_cast<T>(samples))) continue;
      k0 = f0 > T(0) ? static_cast<int64_t>(f0) : 0;
      k1 = f1 < static_cast<T>(samples) ? static_cast<int64_t>(f1) : samples;
    }
    const T* dy_roi = dy + (r * a.channels + c0) * bins;  // channel c0 + j at dy_roi[j * bins]
    for (int64_t k = k0; k < k1; ++k) {
      const int64_t ph = k / b.grid_h;
      const int iy = static_cast<int>(k % b.grid_h);
      RoiAlignLerp<T> ly;
      if (!roi_align_lerp(roi_align_sample(b.start_h, b.bin_h, b.grid_h, ph, iy), a.height, &ly))
        continue;
      // When lo == hi == h the w_hi share is exactly 0.
      const T wy = ly.lo == h ? ly.w_lo : (ly.hi == h ? ly.w_hi : T(-1));
      if (wy < T(0)) continue;
      for (int64_t pw = 0; pw < a.pooled_w; ++pw) {
        for (int j = 0; j < nc; ++j) g[j] = dy_roi[j * bins + ph * a.pooled_w + pw] / b.count;
        for (int ix = 0; ix < b.grid_w; ++ix) {
          RoiAlignLerp<T> lx;
          if (!roi_align_lerp(roi_align_sample(b.start_w, b.bin_w, b.grid_w, pw, ix), a.width, &lx))
            continue;
          const T w_lo = wy * lx.w_lo, w_hi = wy * lx.w_hi;
          for (int j = 0; j < nc; ++j) {
            rows[j * plane + lx.lo] += g[j] * w_lo;
            rows[j * plane + lx.hi] += g[j] * w_hi;
          }
        }
      }
    }
  }
}

}  // namespace crema::kernels

namespace crema::cuda {

/// Launchers of the bodies above (cuda_kernels/roi_align.cu; CUDA builds only).
template <class T>
void launch_roi_align_geometry(Stream s, int64_t n, const kernels::RoiAlignArgs<T>& a,
                               const T* rois, kernels::RoiAlignBox<T>* boxes);
template <class T>
void launch_roi_align_forward(Stream s, int64_t n, const kernels::RoiAlignArgs<T>& a,
                              const kernels::RoiAlignBox<T>* boxes, const T* x, T* y);
template <class T>
void launch_roi_align_backward(Stream s, int64_t n, const kernels::RoiAlignArgs<T>& a,
                               const kernels::RoiAlignBox<T>* boxes, const T* dy, T* dx);

}  // namespace crema::cuda
