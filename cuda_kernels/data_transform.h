/// Kernel body of the data transformer: crop, mirror, mean subtraction and scaling of one image.
#pragma once

#include <cstdint>

#include "core/hd.h"

namespace crema::kernels {

/// Mean subtracted from each pixel before scaling.
enum DataMeanMode : int {
  kMeanNone = 0,
  kMeanPerPixel = 1,    ///< mean has channels * in_h * in_w values (mean_file), CHW
  kMeanPerChannel = 2,  ///< mean has one value per channel (mean_value)
};

/// Geometry and options of one image transform; built and validated on the host.
struct DataTransformArgs {
  int64_t channels = 0;
  int64_t in_h = 0, in_w = 0;    ///< source image
  int64_t out_h = 0, out_w = 0;  ///< after cropping
  int64_t h_off = 0, w_off = 0;  ///< top-left corner of the crop in the source
  int mirror = 0;                ///< 1: flip horizontally
  int source_hwc = 0;            ///< 1: source is interleaved HWC (decoded), 0: planar CHW
  int mean_mode = kMeanNone;
  double scale = 1;
};

/// Work item: one output element i = (c * out_h + h) * out_w + w (CHW). Reads the source pixel
/// at (c, h + h_off, w_off + w'), w' = out_w - 1 - w when mirrored else w, from a CHW or HWC
/// source, subtracts the mean (indexed at the source position for a per-pixel mean, as Caffe
/// does), multiplies by scale, and writes out[i]. GATHER.
template <class T, class In>
CREMA_HD inline void data_transform_forward(int64_t i, const DataTransformArgs& a, const In* in,
                                            const T* mean, T* out) {
  const int64_t w = i % a.out_w;
  const int64_t h = (i / a.out_w) % a.out_h;
  const int64_t c = i / (a.out_w * a.out_h);
  const int64_t sh = h + a.h_off;
  const int64_t sw = a.w_off + (a.mirror ? a.out_w - 1 - w : w);
  const int64_t planar = (c * a.in_h + sh) * a.in_w + sw;
  const int64_t src = a.source_hwc ? (sh * a.in_w + sw) * a.channels + c : planar;
  T v = static_cast<T>(in[src]);
  if (a.mean_mode == kMeanPerPixel) {
    v -= mean[planar];
  } else if (a.mean_mode == kMeanPerChannel) {
    v -= mean[c];
  }
  out[i] = v * static_cast<T>(a.scale);
}

}  // namespace crema::kernels
