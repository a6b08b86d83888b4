/// Deformable RoI pooling kernel bodies: Deformable R-FCN's position-sensitive variant and
/// mmcv's non-position-sensitive deform_roi_pool, one body per pass with a mode switch.
#pragma once

#include <cmath>
#include <cstdint>

#include "core/hd.h"
#include "cuda_kernels/launch.h"

namespace crema::kernels {

/// Which convention a DeformRoIPoolArgs follows. See Note [Two deformable RoI poolings].
enum DeformRoIPoolMode : int {
  kDeformPSRoIPool = 0,   ///< Deformable-ConvNets' DeformablePSROIPooling
  kDeformRoIPoolMmcv = 1  ///< mmcv's DeformRoIPool
};

/// Largest adaptive sampling grid per bin side (mmcv mode, sampling_ratio <= 0): a corrupt RoI
/// of astronomic size must not stall the kernel. Real bins are far smaller.
inline constexpr int64_t kDeformRoIMaxAdaptiveGrid = 1024;

// Note [Two deformable RoI poolings]
// Both pool output (r, c, ph, pw) by averaging bilinear samples on a grid inside bin (ph, pw)
// of RoI r, the bin shifted by a learned offset scaled by the RoI size (Dai et al. 2017,
// eqs. 5-6: y(i,j) = sum_p x(p0 + p + Δp_ij) / n_ij, Δp_ij = γ · Δp̂_ij ∘ (w, h)).
//   PS (Deformable-ConvNets): RoI corners rounded, end + 1, start/end · scale − 0.5, width and
//     height at least 0.1; input channel (c·G + gh)·G + gw with g = floor(p·G / P); samples at
//     bin origin + i·bin/S, i < S = sample_per_part; a sample outside [−0.5, size − 0.5] is
//     skipped and not counted, others are clamped to [0, size − 1]; average over the counted
//     samples. Offsets (R, 2·classes, part, part), class of c = c / (output_dim / classes),
//     part cell of bin p = floor(p · part / P), scale trans_std.
//   mmcv: corners · scale − 0.5, no rounding, no minimum size; input channel c; samples at bin
//     origin + (i + ½)·bin/g with g = sampling_ratio or ceil(roi_size / P); a sample outside
//     [−1, size] reads 0 but counts; positions <= 0 read row/column 0, positions whose floor is
//     >= size − 1 read the last row/column; average over g_h·g_w (0 samples give 0).
//     Offsets (R, 2, PH, PW), scale gamma.
// Offset channel 2k moves x, 2k + 1 moves y in both.
// Backward differentiates exactly this forward: a clamped coordinate does not move the sample,
// so its offset gradient is 0 there. mmcv's own offset gradient differs in those bands (it
// plugs the unclamped position into the weights: nonzero for positions in (−1, 0], zero in
// the last-row/column band where the forward still moves along the other axis); Deformable-
// ConvNets' floor/ceil form gives 0 at exact integers where we take the right derivative.

template <class T>
struct DeformRoIPoolArgs {
  int mode;                                ///< DeformRoIPoolMode
  int64_t batch, channels, height, width;  ///< features (N, C, H, W)
  int64_t num_rois;
  int64_t output_dim, pooled_h, pooled_w;  ///< top (R, output_dim, PH, PW)
  int64_t group_size;                      ///< PS score-map grid G (1 in mmcv mode)
  int64_t part_h, part_w;                  ///< offset grid
  int64_t num_classes;                     ///< offset channel pairs
  int64_t channels_each_class;             ///< output channels sharing one offset pair
  int64_t sample;  ///< PS: sample_per_part; mmcv: sampling_ratio (<= 0 adaptive)
  T spatial_scale;
  T offset_scale;  ///< PS: trans_std; mmcv: gamma
  bool has_offset;
};

/// RoI r's batch index, or -1 when it is not a number in [0, batch) (truncated as mmcv does).
template <class T>
CREMA_HD inline int64_t deform_roi_batch_index(const DeformRoIPoolArgs<T>& a, const T* roi) {
  const T b = roi[0];
  return (b >= T(0) && b < static_cast<T>(a.batch)) ? static_cast<int64_t>(b) : -1;
}

/// The sampling grid of one bin of one RoI for one offset class.
template <class T>
struct DeformRoIBin {
  int64_t batch;     ///< -1: RoI unusable (bad batch index), the bin pools nothing
  T x0, y0;          ///< position of sample (0, 0) without the grid shift
  T step_x, step_y;  ///< distance between samples
  T shift;           ///< 0 (PS) or ½ (mmcv): sample i sits at x0 + (i + shift)·step_x
  int64_t grid_h, grid_w;
  T dpos_dx, dpos_dy;  ///< ∂ sample position / ∂ offset value (offset_scale · roi size)
  int64_t off_x;       ///< index of the x offset (y offset at off_x + part_h·part_w)
};

template <class T>
CREMA_HD inline DeformRoIBin<T> deform_roi_bin(const DeformRoIPoolArgs<T>& a, const T* rois,
                                               const T* offset, int64_t r, int64_t cls, int64_t ph,
                                               int64_t pw) {
  const T* roi = rois + r * 5;
  DeformRoIBin<T> bin{};
  bin.batch = deform_roi_batch_index(a, roi);
  const T s = a.spatial_scale;
  T x0, y0, roi_w, roi_h;
  if (a.mode == kDeformPSRoIPool) {
    x0 = std::round(roi[1]) * s - T(0.5);
    y0 = std::round(roi[2]) * s - T(0.5);
    roi_w = hd::max((std::round(roi[3]) + T(1)) * s - T(0.5) - x0, T(0.1));
    roi_h = hd::max((std::round(roi[4]) + T(1)) * s - T(0.5) - y0, T(0.1));
  } else {
    x0 = roi[1] * s - T(0.5);
    y0 = roi[2] * s - T(0.5);
    roi_w = roi[3] * s - T(0.5) - x0;
    roi_h = roi[4] * s - T(0.5) - y0;
  }
  const T bin_w = roi_w / static_cast<T>(a.pooled_w);
  const T bin_h = roi_h / static_cast<T>(a.pooled_h);
  if (a.mode == kDeformPSRoIPool) {
    bin.grid_h = bin.grid_w = a.sample;
    bin.shift = T(0);
  } else {
    if (a.sample > 0) {
      bin.grid_h = bin.grid_w = a.sample;
    } else {
      // NaN and non-positive sizes give an empty grid (output 0), as mmcv's int cast of <= 0.
      const T gh = std::ceil(bin_h), gw = std::ceil(bin_w);
      const T cap = static_cast<T>(kDeformRoIMaxAdaptiveGrid);
      bin.grid_h = gh >= T(1) ? static_cast<int64_t>(hd::min(gh, cap)) : 0;
      bin.grid_w = gw >= T(1) ? static_cast<int64_t>(hd::min(gw, cap)) : 0;
    }
    bin.shift = T(0.5);
  }
  bin.step_x = bin_w / static_cast<T>(bin.grid_w > 0 ? bin.grid_w : 1);
  bin.step_y = bin_h / static_cast<T>(bin.grid_h > 0 ? bin.grid_h : 1);
  bin.dpos_dx = a.offset_scale * roi_w;
  bin.dpos_dy = a.offset_scale * roi_h;
  const int64_t oh = ph * a.part_h / a.pooled_h, ow = pw * a.part_w / a.pooled_w;
  bin.off_x = ((r * a.num_classes + cls) * 2 * a.part_h + oh) * a.part_w + ow;
  T dx = T(0), dy = T(0);
  if (a.has_offset) {
    dx = offset[bin.off_x] * bin.dpos_dx;
    dy = offset[bin.off_x + a.part_h * a.part_w] * bin.dpos_dy;
  }
  bin.x0 = x0 + static_cast<T>(pw) * bin_w + dx;
  bin.y0 = y0 + static_cast<T>(ph) * bin_h + dy;
  return bin;
}

/// One coordinate of a bilinear sample after the mode's boundary rule.
template <class T>
struct DeformRoIAxis {
  int64_t lo, hi;  ///< the two neighbours (equal at the clamped edge)
  T frac;          ///< weight of hi
  T moves;         ///< 1 where the read position follows the raw one, 0 where clamped
};

/// Applies the boundary rule of Note [Two deformable RoI poolings] to raw position v on an axis
/// of `size` pixels; false when the sample reads nothing (NaN included).
template <class T>
CREMA_HD inline bool deform_roi_axis(int mode, T v, int64_t size, DeformRoIAxis<T>& ax) {
  const T n = static_cast<T>(size);
  if (mode == kDeformPSRoIPool) {
    if (!(v >= T(-0.5) && v <= n - T(0.5))) return false;
    ax.moves = (v > T(0) && v < n - T(1)) ? T(1) : T(0);
    v = hd::clamp(v, T(0), n - T(1));
  } else {
    if (!(v >= T(-1) && v <= n)) return false;
    ax.moves = v > T(0) ? T(1) : T(0);
    if (v <= T(0)) v = T(0);
  }
  int64_t lo = static_cast<int64_t>(std::floor(v));
  if (lo >= size - 1) {
    lo = size - 1;
    v = static_cast<T>(lo);
    ax.hi = lo;
    ax.moves = T(0);
  } else {
    ax.hi = lo + 1;
  }
  ax.lo = lo;
  ax.frac = v - static_cast<T>(lo);
  return true;
}

/// Sample (iy, ix) of `bin`; false when it reads nothing.
template <class T>
CREMA_HD inline bool deform_roi_sample(const DeformRoIPoolArgs<T>& a, const DeformRoIBin<T>& bin,
                                       int64_t iy, int64_t ix, DeformRoIAxis<T>& ay,
                                       DeformRoIAxis<T>& ax) {
  const T y = bin.y0 + (static_cast<T>(iy) + bin.shift) * bin.step_y;
  const T x = bin.x0 + (static_cast<T>(ix) + bin.shift) * bin.step_x;
  return deform_roi_axis(a.mode, y, a.height, ay) && deform_roi_axis(a.mode, x, a.width, ax);
}

/// The divisor of a bin's average: counted samples (PS) or the grid size (mmcv).
template <class T>
CREMA_HD inline int64_t deform_roi_count(const DeformRoIPoolArgs<T>& a,
                                         const DeformRoIBin<T>& bin) {
  if (bin.batch < 0) return 0;
  if (a.mode != kDeformPSRoIPool) return bin.grid_h * bin.grid_w;
  int64_t count = 0;
  DeformRoIAxis<T> ay{}, ax{};
  for (int64_t iy = 0; iy < bin.grid_h; ++iy)
    for (int64_t ix = 0; ix < bin.grid_w; ++ix) count += deform_roi_sample(a, bin, iy, ix, ay, ax);
  return count;
}

/// Input channel read by output channel c in bin (ph, pw).
template <class T>
CREMA_HD inline int64_t deform_roi_in_channel(const DeformRoIPoolArgs<T>& a, int64_t c, int64_t ph,
                                              int64_t pw) {
  const int64_t g = a.group_size;
  const int64_t gh = hd::min(ph * g / a.pooled_h, g - 1), gw = hd::min(pw * g / a.pooled_w, g - 1);
  return (c * g + gh) * g + gw;
}

// Work item i: one output (r, c, ph, pw), i = ((r·output_dim + c)·PH + ph)·PW + pw. Reads the
// RoI, its offset pair and the samples of the input plane; writes y[i] = mean of the bilinear
// samples (Note [Two deformable RoI poolings]; 0 when no sample counts). GATHER.
template <class T>
CREMA_HD inline void deform_psroi_pooling_forward(int64_t i, const DeformRoIPoolArgs<T>& a,
                                                  const T* x, const T* rois, const T* offset,
                                                  T* y) {
  const int64_t pw = i % a.pooled_w, ph = (i / a.pooled_w) % a.pooled_h;
  const int64_t c = (i / (a.pooled_w * a.pooled_h)) % a.output_dim;
  const int64_t r = i / (a.pooled_w * a.pooled_h * a.output_dim);
  const DeformRoIBin<T> bin = deform_roi_bin(a, rois, offset, r, c / a.channels_each_class, ph, pw);
  if (bin.batch < 0) {
    y[i] = T(0);
    return;
  }
  const T* plane =
      x + (bin.batch * a.channels + deform_roi_in_channel(a, c, ph, pw)) * a.height * a.width;
  T sum = T(0);
  int64_t counted = 0;
  DeformRoIAxis<T> ay{}, ax{};
  for (int64_t iy = 0; iy < bin.grid_h; ++iy) {
    for (int64_t ix = 0; ix < bin.grid_w; ++ix) {
      if (!deform_roi_sample(a, bin, iy, ix, ay, ax)) continue;
      const T* lo = plane + ay.lo * a.width;
      const T* hi = plane + ay.hi * a.width;
      const T top = lo[ax.lo] + ax.frac * (lo[ax.hi] - lo[ax.lo]);
      const T bottom = hi[ax.lo] + ax.frac * (hi[ax.hi] - hi[ax.lo]);
      sum += top + ay.frac * (bottom - top);
      ++counted;
    }
  }
  const int64_t count = a.mode == kDeformPSRoIPool ? counted : bin.grid_h * bin.grid_w;
  y[i] = count > 0 ? sum / static_cast<T>(count) : T(0);
}

// Work item i: one output (r, c, ph, pw), split as in the forward. Reads dy[i] and the sample
// positions; adds dy[i]/count times each sample's four bilinear weights into dx at the
// neighbours (∂y/∂x of eq. 6). SCATTER: samples of many bins and RoIs hit one pixel, so dx is
// updated with hd::atomic_add and must be zeroed first. count = 0 adds nothing.
template <class T>
CREMA_HD inline void deform_psroi_pooling_backward_data(int64_t i, const DeformRoIPoolArgs<T>& a,
                                                        const T* rois, const T* offset, const T* dy,
                                                        T* dx) {
  const int64_t pw = i % a.pooled_w, ph = (i / a.pooled_w) % a.pooled_h;
  const int64_t c = (i / (a.pooled_w * a.pooled_h)) % a.output_dim;
  const int64_t r = i / (a.pooled_w * a.pooled_h * a.output_dim);
  const DeformRoIBin<T> bin = deform_roi_bin(a, rois, offset, r, c / a.channels_each_class, ph, pw);
  const int64_t count = deform_roi_count(a, bin);
  if (count <= 0) return;
  const T g = dy[i] / static_cast<T>(count);
  T* plane =
      dx + (bin.batch * a.channels + deform_roi_in_channel(a, c, ph, pw)) * a.height * a.width;
  DeformRoIAxis<T> ay{}, ax{};
  for (int64_t iy = 0; iy < bin.grid_h; ++iy) {
    for (int64_t ix = 0; ix < bin.grid_w; ++ix) {
      if (!deform_roi_sample(a, bin, iy, ix, ay, ax)) continue;
      const T gy_hi = g * ay.frac, gy_lo = g - gy_hi;
      hd::atomic_add(plane + ay.lo * a.width + ax.lo, gy_lo * (T(1) - ax.frac));
      hd::atomic_add(plane + ay.lo * a.width + ax.hi, gy_lo * ax.frac);
      hd::atomic_add(plane + ay.hi * a.width + ax.lo, gy_hi * (T(1) - ax.frac));
      hd::atomic_add(plane + ay.hi * a.width + ax.hi, gy_hi * ax.frac);
    }
  }
}

// Work item i: one offset pair (r, k, oh, ow), i = ((r·num_classes + k)·part_h + oh)·part_w +
// ow. Loops over the bins (ph, pw) whose part cell is (oh, ow), the output channels of class
// k and their samples, accumulating dy/count · ∂sample/∂position · ∂position/∂offset; writes
// doffset at its x and y slots only. GATHER (deterministic; no atomics).
template <class T>
CREMA_HD inline void deform_psroi_pooling_backward_offset(int64_t i, const DeformRoIPoolArgs<T>& a,
                                                          const T* x, const T* rois,
                                                          const T* offset, const T* dy,
                                                          T* doffset) {
  const int64_t ow = i % a.part_w, oh = (i / a.part_w) % a.part_h;
  const int64_t k = (i / (a.part_w * a.part_h)) % a.num_classes;
  const int64_t r = i / (a.part_w * a.part_h * a.num_classes);
  T grad_x = T(0), grad_y = T(0);
  for (int64_t ph = 0; ph < a.pooled_h; ++ph) {
    if (ph * a.part_h / a.pooled_h != oh) continue;
    for (int64_t pw = 0; pw < a.pooled_w; ++pw) {
      if (pw * a.part_w / a.pooled_w != ow) continue;
      const DeformRoIBin<T> bin = deform_roi_bin(a, rois, offset, r, k, ph, pw);
      const int64_t count = deform_roi_count(a, bin);
      if (count <= 0) continue;
      T bin_x = T(0), bin_y = T(0);
      for (int64_t c = k * a.channels_each_class; c < (k + 1) * a.channels_each_class; ++c) {
        const T g = dy[((r * a.output_dim + c) * a.pooled_h + ph) * a.pooled_w + pw];
        const T* plane =
            x + (bin.batch * a.channels + deform_roi_in_channel(a, c, ph, pw)) * a.height * a.width;
        DeformRoIAxis<T> ay{}, ax{};
        for (int64_t iy = 0; iy < bin.grid_h; ++iy) {
          for (int64_t ix = 0; ix < bin.grid_w; ++ix) {
            if (!deform_roi_sample(a, bin, iy, ix, ay, ax)) continue;
            const T* lo = plane + ay.lo * a.width;
            const T* hi = plane + ay.hi * a.width;
            const T d_dx =
                (T(1) - ay.frac) * (lo[ax.hi] - lo[ax.lo]) + ay.frac * (hi[ax.hi] - hi[ax.lo]);
            const T d_dy =
                (T(1) - ax.frac) * (hi[ax.lo] - lo[ax.lo]) + ax.frac * (hi[ax.hi] - lo[ax.hi]);
            bin_x += g * d_dx * ax.moves;
            bin_y += g * d_dy * ay.moves;
          }
        }
      }
      grad_x += bin_x * bin.dpos_dx / static_cast<T>(count);
      grad_y += bin_y * bin.dpos_dy / static_cast<T>(count);
    }
  }
  const int64_t slot = ((r * a.num_classes + k) * 2 * a.part_h + oh) * a.part_w + ow;
  doffset[slot] = grad_x;
  doffset[slot + a.part_h * a.part_w] = grad_y;
}

}  // namespace crema::kernels

namespace crema::cuda {

/// Launchers of the bodies above (cuda_kernels/deform_psroi_pooling.cu; CUDA builds only).
template <class T>
void launch_deform_psroi_pooling_forward(Stream s, int64_t n,
                                         const kernels::DeformRoIPoolArgs<T>& a, const T* x,
                                         const T* rois, const T* offset, T* y);
template <class T>
void launch_deform_psroi_pooling_backward_data(Stream s, int64_t n,
                                               const kernels::DeformRoIPoolArgs<T>& a,
                                               const T* rois, const T* offset, const T* dy, T* dx);
template <class T>
void launch_deform_psroi_pooling_backward_offset(Stream s, int64_t n,
                                                 const kernels::DeformRoIPoolArgs<T>& a, const T* x,
                                                 const T* rois, const T* offset, const T* dy,
                                                 T* doffset);

}  // namespace crema::cuda
