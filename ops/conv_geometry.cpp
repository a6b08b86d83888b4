#include "ops/conv_geometry.h"

#include <algorithm>
#include <tuple>
#include <utility>

#include "core/layer.h"

namespace crema {
namespace {

// One spatial parameter as (h, w): either the repeated field `name` (1 value for both axes or
// one per axis) or the 2-d pair `<stem>_h` / `<stem>_w`, as Caffe reads them.
struct HwParam {
  const char* name;  // repeated field, e.g. "kernel_size"
  const char* stem;  // pair stem, e.g. "kernel" for kernel_h / kernel_w
  const google::protobuf::RepeatedField<uint32_t>& values;
  bool has_h, has_w;
  uint32_t h, w;
  bool pair_needs_both;  // kernel and stride have no default for the missing half
};

std::pair<int64_t, int64_t> read_hw(const HwParam& p, int64_t fallback, bool required) {
  if (p.has_h || p.has_w) {
    CREMA_LAYER_CHECK(p.values.empty(), "give either ", p.name, " or ", p.stem, "_h/", p.stem,
                      "_w, not both");
    CREMA_LAYER_CHECK(!p.pair_needs_both || (p.has_h && p.has_w), "set both ", p.stem, "_h and ",
                      p.stem, "_w (only one of them was given)");
    return {p.h, p.w};
  }
  CREMA_LAYER_CHECK(p.values.size() <= 2, p.name,
                    " takes one value, or one per spatial axis (H, W); got ", p.values.size(),
                    " values (only 2-d convolution is supported)");
  if (p.values.empty()) {
    CREMA_LAYER_CHECK(!required, p.name, " is required (or ", p.stem, "_h and ", p.stem, "_w)");
    return {fallback, fallback};
  }
  const int64_t h = p.values.Get(0);
  return {h, p.values.size() == 2 ? int64_t{p.values.Get(1)} : h};
}

}  // namespace

ConvGeometry read_conv_geometry(const ConvolutionParameter& cp) {
  ConvGeometry g;
  std::tie(g.kernel_h, g.kernel_w) =
      read_hw({"kernel_size", "kernel", cp.kernel_size(), cp.has_kernel_h(), cp.has_kernel_w(),
               cp.kernel_h(), cp.kernel_w(), true},
              0, true);
  std::tie(g.stride_h, g.stride_w) =
      read_hw({"stride", "stride", cp.stride(), cp.has_stride_h(), cp.has_stride_w(), cp.stride_h(),
               cp.stride_w(), true},
              1, false);
  std::tie(g.pad_h, g.pad_w) = read_hw(
      {"pad", "pad", cp.pad(), cp.has_pad_h(), cp.has_pad_w(), cp.pad_h(), cp.pad_w(), false}, 0,
      false);
  std::tie(g.dilation_h, g.dilation_w) =
      read_hw({"dilation", "dilation", cp.dilation(), false, false, 0, 0, false}, 1, false);
  CREMA_LAYER_CHECK(g.kernel_h > 0 && g.kernel_w > 0, "kernel size must be > 0, got ", g.kernel_h,
                    "x", g.kernel_w);
  CREMA_LAYER_CHECK(g.stride_h > 0 && g.stride_w > 0, "stride must be > 0, got ", g.stride_h, "x",
                    g.stride_w);
  CREMA_LAYER_CHECK(g.dilation_h > 0 && g.dilation_w > 0, "dilation must be > 0, got ",
                    g.dilation_h, "x", g.dilation_w);
  return g;
}

int64_t conv_chunk_size(int64_t column_per_image, int64_t num) {
  // Batching images into one GEMM keeps BLAS efficient on small maps; the budget bounds the
  // column buffer on large ones.
  constexpr int64_t kColumnBudget = int64_t{1} << 24;
  return std::clamp<int64_t>(kColumnBudget / std::max<int64_t>(column_per_image, 1), 1,
                             std::max<int64_t>(num, 1));
}

ConvChannels read_conv_channels(const ConvolutionParameter& cp, const std::vector<int64_t>& shape,
                                const char* type) {
  const int num_axes = static_cast<int>(shape.size());
  const int axis = cp.axis() < 0 ? cp.axis() + num_axes : cp.axis();
  CREMA_CHECK_AS(ConfigError, axis == 1,
                 "only axis: 1 (channels after the batch axis) is supported, got ", cp.axis());
  CREMA_CHECK_AS(ShapeError, num_axes == 4, "bottom 0 must be 4-d (N, C, H, W), got ",
                 shape_string(shape), "; ", type,
                 " supports 2-d spatial input only (no 1-d or N-d)");
  ConvChannels c;
  c.channels = shape[1];
  c.num_output = cp.num_output();
  c.group = cp.group();
  c.bias_term = cp.bias_term();
  CREMA_CHECK_AS(ShapeError, c.channels > 0, "bottom 0 has no channels: ", shape_string(shape));
  CREMA_CHECK_AS(ConfigError, c.num_output > 0, "num_output must be > 0, got ", c.num_output,
                 "; set convolution_param { num_output: ... }");
  CREMA_CHECK_AS(ConfigError, c.group > 0, "group must be > 0, got ", c.group);
  CREMA_CHECK_AS(ConfigError, c.channels % c.group == 0, "group ", c.group,
                 " must divide the input channels, got ", c.channels, " channels (bottom ",
                 shape_string(shape), ")");
  CREMA_CHECK_AS(ConfigError, c.num_output % c.group == 0, "group ", c.group,
                 " must divide num_output ", c.num_output);
  return c;
}

}  // namespace crema
