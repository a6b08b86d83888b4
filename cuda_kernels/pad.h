/// Spatial padding kernel bodies ("Pad": constant, replicate, reflect), one body, CPU and CUDA.
#pragma once

#include <cstdint>

#include "core/hd.h"
#include "cuda_kernels/launch.h"

namespace crema::kernels {

/// Padding modes, numbered as PadParameter::Mode.
enum PadMode : int { kPadConstant = 0, kPadReplicate = 1, kPadReflect = 2 };

/// Geometry: planes of H x W become (H + 2 pad_h) x (W + 2 pad_w), row-major. REFLECT needs
/// pad < size (checked on the host).
template <class T>
struct PadArgs {
  int64_t height, width;
  int64_t pad_h, pad_w;
  int mode;
  T value;  ///< fill of CONSTANT
};

/// Source index along one axis for padded position p (in [0, size + 2 pad)), or -1 when the
/// position takes the constant.
CREMA_HD inline int64_t pad_source(int64_t p, int64_t size, int64_t pad, int mode) {
  const int64_t s = p - pad;
  if (s >= 0 && s < size) return s;
  if (mode == kPadReplicate) return s < 0 ? 0 : size - 1;
  if (mode == kPadReflect) return s < 0 ? -s : 2 * (size - 1) - s;
  return -1;
}

/// The padded positions along one axis that copy source s, as up to 3 closed ranges
/// [lo[k], hi[k]]; returns how many. CONSTANT: s + pad only. REPLICATE: the first and last
/// source also own their whole border. REFLECT: s + pad, and its mirror images at the top
/// (s in [1, pad]) and at the bottom (s in [size - 1 - pad, size - 2]).
CREMA_HD inline int pad_targets(int64_t s, int64_t size, int64_t pad, int mode, int64_t* lo,
                                int64_t* hi) {
  if (mode == kPadReplicate) {
    lo[0] = s == 0 ? 0 : s + pad;
    hi[0] = s == size - 1 ? size - 1 + 2 * pad : s + pad;
    return 1;
  }
  int n = 0;
  lo[n] = hi[n] = s + pad;
  ++n;
  if (mode == kPadReflect) {
    if (s >= 1 && s <= pad) {
      lo[n] = hi[n] = pad - s;
      ++n;
    }
    if (s <= size - 2 && s >= size - 1 - pad) {
      lo[n] = hi[n] = pad + 2 * (size - 1) - s;
      ++n;
    }
  }
  return n;
}

/// Forward. Work item: one output row, i in [0, planes * out_h), split as
/// i = plane * out_h + oh. Writes y[i * out_w + ow] for every ow from x's plane (or the constant).
/// GATHER.
template <class T>
CREMA_HD inline void pad_forward(int64_t i, const PadArgs<T>& a, const T* x, T* y) {
  const int64_t out_h = a.height + 2 * a.pad_h, out_w = a.width + 2 * a.pad_w;
  const int64_t oh = i % out_h, plane = i / out_h;
  const int64_t h = pad_source(oh, a.height, a.pad_h, a.mode);
  T* yr = y + i * out_w;
  if (h < 0) {
    for (int64_t ow = 0; ow < out_w; ++ow) yr[ow] = a.value;
    return;
  }
  const T* xr = x + (plane * a.height + h) * a.width;
  for (int64_t ow = 0; ow < out_w; ++ow) {
    const int64_t w = pad_source(ow, a.width, a.pad_w, a.mode);
    yr[ow] = w < 0 ? a.value : xr[w];
  }
}

/// Backward. Work item: one input row, i in [0, planes * H), split as i = plane * H + h. Each
/// input pixel sums the output diffs of every padded position that copied it (pad_targets along
/// both axes) and writes dx[i * W + w]. GATHER.
template <class T>
CREMA_HD inline void pad_backward(int64_t i, const PadArgs<T>& a, const T* dy, T* dx) {
  const int64_t out_h = a.height + 2 * a.pad_h, out_w = a.width + 2 * a.pad_w;
  const int64_t h = i % a.height, plane = i / a.height;
  int64_t hlo[3], hhi[3], wlo[3], whi[3];
  const int nh = pad_targets(h, a.height, a.pad_h, a.mode, hlo, hhi);
  const T* dyp = dy + plane * out_h * out_w;
  for (int64_t w = 0; w < a.width; ++w) {
    const int nw = pad_targets(w, a.width, a.pad_w, a.mode, wlo, whi);
    T sum = T(0);
    for (int kh = 0; kh < nh; ++kh)
      for (int64_t oh = hlo[kh]; oh <= hhi[kh]; ++oh)
        for (int kw = 0; kw < nw; ++kw)
          for (int64_t ow = wlo[kw]; ow <= whi[kw]; ++ow) sum += dyp[oh * out_w + ow];
    dx[i * a.width + w] = sum;
  }
}

}  // namespace crema::kernels

namespace crema::cuda {

/// Launchers of the bodies above (cuda_kernels/pad.cu; CUDA builds only).
template <class T>
void launch_pad_forward(Stream s, int64_t n, const kernels::PadArgs<T>& a, const T* x, T* y);
template <class T>
void launch_pad_backward(Stream s, int64_t n, const kernels::PadArgs<T>& a, const T* dy, T* dx);

}  // namespace crema::cuda
