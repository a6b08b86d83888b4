/// Naive spatial padding reference (double precision): forward by clamping / mirroring each
/// output coordinate, backward by scattering each output diff onto its source pixel.
#pragma once

#include <cstdint>
#include <vector>

namespace crema::ref {

/// Source coordinate of padded position p, or -1 for the constant. mode: 0 constant,
/// 1 replicate, 2 reflect (mirror about the edge pixel, the edge not repeated).
inline int64_t pad_src(int64_t p, int64_t size, int64_t pad, int mode) {
  int64_t s = p - pad;
  if (mode == 0) return (s < 0 || s >= size) ? -1 : s;
  if (mode == 1) return s < 0 ? 0 : (s >= size ? size - 1 : s);
  while (s < 0 || s >= size) s = s < 0 ? -s : 2 * size - 2 - s;
  return s;
}

template <class T>
std::vector<double> pad_forward(const T* x, int64_t n, int64_t c, int64_t h, int64_t w, int64_t ph,
                                int64_t pw, int mode, double value) {
  const int64_t oh = h + 2 * ph, ow = w + 2 * pw;
  std::vector<double> y(n * c * oh * ow);
  for (int64_t p = 0; p < n * c; ++p)
    for (int64_t i = 0; i < oh; ++i)
      for (int64_t j = 0; j < ow; ++j) {
        const int64_t si = pad_src(i, h, ph, mode), sj = pad_src(j, w, pw, mode);
        y[(p * oh + i) * ow + j] = (si < 0 || sj < 0) ? value : x[(p * h + si) * w + sj];
      }
  return y;
}

template <class T>
std::vector<double> pad_backward(const T* dy, int64_t n, int64_t c, int64_t h, int64_t w,
                                 int64_t ph, int64_t pw, int mode) {
  const int64_t oh = h + 2 * ph, ow = w + 2 * pw;
  std::vector<double> dx(n * c * h * w, 0.0);
  for (int64_t p = 0; p < n * c; ++p)
    for (int64_t i = 0; i < oh; ++i)
      for (int64_t j = 0; j < ow; ++j) {
        const int64_t si = pad_src(i, h, ph, mode), sj = pad_src(j, w, pw, mode);
        if (si >= 0 && sj >= 0) dx[(p * h + si) * w + sj] += dy[(p * oh + i) * ow + j];
      }
  return dx;
}

}  // namespace crema::ref
