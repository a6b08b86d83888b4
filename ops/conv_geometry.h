/// Geometry shared by Convolution and Deconvolution: reading ConvolutionParameter's kernel,
/// stride, pad and dilation, and sizing the image chunks of one im2col GEMM.
#pragma once

#include <cstdint>
#include <vector>

#include "proto/crema.pb.h"

namespace crema {

/// 2-d kernel geometry of a ConvolutionParameter.
struct ConvGeometry {
  int64_t kernel_h = 0, kernel_w = 0;
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_h = 0, pad_w = 0;
  int64_t dilation_h = 1, dilation_w = 1;
};

/// Reads kernel_size / stride / pad / dilation (one value, one per axis, or the _h / _w pairs)
/// as Caffe does, and checks kernel, stride and dilation > 0. Throws ConfigError.
ConvGeometry read_conv_geometry(const ConvolutionParameter& cp);

/// Channel and group settings of a ConvolutionParameter for a bottom of `shape`, validated.
struct ConvChannels {
  int64_t channels = 0, num_output = 0, group = 1;
  bool bias_term = true;
};

/// Checks what Convolution and Deconvolution both require — axis 1, a 4-d bottom, num_output > 0,
/// group dividing channels and num_output — and returns the settings. `type` names the layer
/// type in messages. Throws ConfigError / ShapeError.
ConvChannels read_conv_channels(const ConvolutionParameter& cp, const std::vector<int64_t>& shape,
                                const char* type);

/// Images per GEMM: as many as keep a column buffer of `column_per_image` elements per image
/// near 16 M elements, at least 1 and at most `num`.
int64_t conv_chunk_size(int64_t column_per_image, int64_t num);

}  // namespace crema
