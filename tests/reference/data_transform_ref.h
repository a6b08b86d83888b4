/// Naive reference of Caffe's data transform on a planar (CHW) uint8 image, written as Caffe's
/// loop over the crop window: the source pixel (c, h_off + h, w_off + w) lands at column
/// width - 1 - w when mirrored.
#pragma once

#include <cstdint>
#include <vector>

namespace crema::reference {

/// mean_pixel: C*H*W values of the uncropped image (or empty); mean_channel: C values (or empty).
inline std::vector<double> data_transform_ref(const std::vector<uint8_t>& image, int channels,
                                              int height, int width, int crop, int h_off, int w_off,
                                              bool mirror, const std::vector<double>& mean_pixel,
                                              const std::vector<double>& mean_channel,
                                              double scale) {
  const int oh = crop > 0 ? crop : height, ow = crop > 0 ? crop : width;
  std::vector<double> out(static_cast<size_t>(channels) * oh * ow, 0.0);
  for (int c = 0; c < channels; ++c) {
    for (int h = 0; h < oh; ++h) {
      for (int w = 0; w < ow; ++w) {
        const int src = (c * height + h_off + h) * width + w_off + w;
        const int dst_w = mirror ? ow - 1 - w : w;
        double v = image[src];
        if (!mean_pixel.empty()) v -= mean_pixel[src];
        if (!mean_channel.empty()) v -= mean_channel[c];
        out[(c * oh + h) * ow + dst_w] = v * scale;
      }
    }
  }
  return out;
}

}  // namespace crema::reference
