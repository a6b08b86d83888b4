#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "cuda_kernels/roi_pooling.h"
#include "ops/roi_mask_pooling_layer.h"
#include "tests/cuda_test_util.h"
#include "tests/gpu_compare.h"
#include "tests/layer_checks.h"
#include "tests/reference/roi_mask_pooling_ref.h"
#include "tests/roi_test_util.h"
#include "tests/test_util.h"

namespace crema {
namespace {

std::string mask_text(const ref::RoiMaskPoolParams& p) {
  return "name: 'ctx' type: 'ROIMaskPooling' roi_mask_pooling_param { pooled_h: " +
         std::to_string(p.ph) + " pooled_w: " + std::to_string(p.pw) +
         " spatial_scale: " + std::to_string(p.scale) +
         " spatial_shift: " + std::to_string(p.shift) +
         " half_part: " + std::to_string(p.half_part) +
         " roi_scale: " + std::to_string(p.roi_scale) +
         " mask_scale: " + std::to_string(p.mask_scale) + " }";
}

ref::RoiMaskPoolParams params(int ph, int pw, double scale, double shift, int half,
                              double roi_scale, double mask_scale) {
  ref::RoiMaskPoolParams p;
  p.ph = ph;
  p.pw = pw;
  p.scale = scale;
  p.shift = shift;
  p.half_part = half;
  p.roi_scale = roi_scale;
  p.mask_scale = mask_scale;
  return p;
}

// Corners chosen so every scaled coordinate is a multiple of 1/8 away from a .5 rounding tie in
// both float and double.
const std::vector<std::array<double, 5>> kRois = {
    {0, 2, 2, 10, 8}, {1, 0, 0, 16, 12}, {0, 12, 6, 28, 20}, {1, 40, 40, 60, 48},
    {0, 6, 6, 6, 6},  {1, 8, 4, 4, 10},  {0, -6, -4, 4, 2},  {1, 4, 2, 12, 10}};

// roi_scale values that keep corners off rounding ties for the boxes above.
const std::vector<ref::RoiMaskPoolParams> kCases = {
    params(3, 2, 0.5, 0, 0, 1.0, 0),    params(3, 3, 0.5, 0, 0, 1.75, 0),
    params(2, 3, 0.5, 0, 1, 0.75, 0),   params(2, 2, 0.5, 0, 2, 1.25, 0),
    params(3, 2, 0.5, 0, 3, 1.5, 0),    params(2, 2, 0.5, 0, 4, 1.0, 0),
    params(3, 3, 0.5, 0, 0, 2.0, 0.75), params(2, 3, 0.5, 0.125, 4, 1.5, 0.5),
    params(4, 4, 0.25, 0, 0, 2.5, 1.25)};

template <class T>
void check_against_reference(const ref::RoiMaskPoolParams& p) {
  Context ctx = Context::cpu(1);
  Tensor<T> x({2, 3, 7, 9}), y, dy({8, 3, p.ph, p.pw});
  test::fill_distinct(x, 3);
  test::fill_uniform(dy, -1, 1, 4);
  Tensor<T> rois = test::make_rois<T>(kRois);
  auto layer = test::make_layer<T>(mask_text(p), ctx, {&x, &rois}, {&y});
  const auto [out, dx] = test::forward_backward(*layer, ctx, x, rois, y, dy);
  const auto want =
      ref::roi_mask_pool(x.cpu_data(), 2, 3, 7, 9, rois.cpu_data(), 8, p, dy.cpu_data());
  test::expect_near(out.data(), test::as<T>(want.y).data(), y.count(), 1e-6, "mask pool y");
  test::expect_near(dx.data(), test::as<T>(want.dx).data(), x.count(), 1e-6, "mask pool dx");
}

TEST(ROIMaskPooling, ForwardBackwardMatchReference) {
  for (const auto& p : kCases) {
    SCOPED_TRACE(mask_text(p));
    check_against_reference<float>(p);
    check_against_reference<double>(p);
  }
}

TEST(ROIMaskPooling, DefaultsMatchCaffeGbd) {
  const ROIMaskPoolingParameter p;
  EXPECT_EQ(p.half_part(), 0);
  EXPECT_EQ(p.roi_scale(), 1.0f);
  EXPECT_EQ(p.mask_scale(), 0.0f);
  EXPECT_EQ(p.spatial_scale(), 1.0f);
  EXPECT_EQ(p.spatial_shift(), 0.0f);
}

// With roi_scale 1, the whole box and no mask, ROIMaskPooling is ROIPooling.
TEST(ROIMaskPooling, PlainSettingsEqualROIPooling) {
  Context ctx = Context::cpu(1);
  Tensor<float> x({2, 3, 7, 9}), y1, y2, dy({8, 3, 3, 2});
  test::fill_uniform(x, -1, 1, 5);
  test::fill_uniform(dy, -1, 1, 6);
  Tensor<float> rois = test::make_rois<float>(kRois);
  auto mask =
      test::make_layer<float>(mask_text(params(3, 2, 0.5, 0, 0, 1, 0)), ctx, {&x, &rois}, {&y1});
  auto pool = test::make_layer<float>(
      "type: 'ROIPooling' roi_pooling_param { pooled_h: 3 pooled_w: 2 spatial_scale: 0.5 }", ctx,
      {&x, &rois}, {&y2});
  auto [a_out, a_dx] = test::forward_backward(*mask, ctx, x, rois, y1, dy);
  auto [b_out, b_dx] = test::forward_backward(*pool, ctx, x, rois, y2, dy);
  EXPECT_EQ(a_out, b_out);
  EXPECT_EQ(a_dx, b_dx);
}

// caffe-GBD compares the masked value as 0 but stores the unmasked input; here masked positions
// read as 0 everywhere: they never pass their value to the output and never take gradient.
TEST(ROIMaskPooling, MaskedPositionsNeverWinOrTakeGradient) {
  Context ctx = Context::cpu(1);
  const int64_t H = 8, W = 8;
  Tensor<double> x({1, 2, H, W}), y, dy({1, 2, 4, 4});
  // Box (0,0)-(14,14) at scale 0.5 -> feature 0..7, bins of 2; mask_scale 0.75 -> mask 1..6
  // (inclusive), so every bin holds masked positions. Those hold large values, the rest
  // negative ones: the masked 0 wins every bin.
  auto inner = [](int64_t h, int64_t w) { return h >= 1 && h <= 6 && w >= 1 && w <= 6; };
  for (int64_t c = 0; c < 2; ++c)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t w = 0; w < W; ++w)
        x.mutable_cpu_data()[(c * H + h) * W + w] =
            inner(h, w) ? 10.0 + h + w : -1.0 - 0.01 * (h + w);
  test::fill_uniform(dy, 0.5, 1, 7);
  Tensor<double> rois = test::make_rois<double>({{0, 0, 0, 14, 14}});
  auto layer =
      test::make_layer<double>(mask_text(params(4, 4, 0.5, 0, 0, 1, 0.75)), ctx, {&x, &rois}, {&y});
  auto [out, dx] = test::forward_backward(*layer, ctx, x, rois, y, dy);
  for (double v : out) EXPECT_EQ(v, 0.0);  // never the masked input's own value
  for (double g : dx) EXPECT_EQ(g, 0.0);   // masked winners route no gradient
  for (int32_t a : static_cast<ROIPoolingLayer<double>&>(*layer).argmax()) EXPECT_EQ(a, -1);
  // Without the mask every bin takes a large inner value and routes its gradient there.
  Tensor<double> y2;
  auto plain =
      test::make_layer<double>(mask_text(params(4, 4, 0.5, 0, 0, 1, 0)), ctx, {&x, &rois}, {&y2});
  auto [out2, dx2] = test::forward_backward(*plain, ctx, x, rois, y2, dy);
  for (double v : out2) EXPECT_GE(v, 10.0);
  double total = 0;
  for (double g : dx2) total += g;
  EXPECT_GT(total, 0.0);
}

TEST(ROIMaskPooling, GradientDouble) {
  for (const auto& p : {params(2, 3, 0.5, 0, 0, 1.5, 0), params(2, 2, 0.5, 0, 3, 1.25, 0),
                        params(3, 2, 0.5, 0, 0, 2.0, 0.75)}) {
    SCOPED_TRACE(mask_text(p));
    Context ctx = Context::cpu(1);
    Tensor<double> x({2, 2, 5, 6}), y;
    test::fill_distinct(x, 5);
    Tensor<double> rois = test::make_rois<double>(
        {{0, 2, 2, 8, 6}, {1, 2, 2, 10, 8}, {1, -4, 6, 6, 12}, {0, 20, 20, 28, 28}});
    auto layer = test::make_layer<double>(mask_text(p), ctx, {&x, &rois}, {&y});
    test::GradCheck opt;
    opt.bottoms = {0};
    test::check_gradient<double>(*layer, ctx, {&x, &rois}, {&y}, opt);
  }
}

TEST(ROIMaskPooling, ThreadCountDoesNotChangeResults) {
  std::vector<std::array<double, 5>> rows;
  for (int r = 0; r < 24; ++r)
    rows.push_back({double(r % 2), 1.0 * r, 2.0 * (r % 5), 8.0 + r, 20.0});
  test::expect_same_with_one_and_two_threads(mask_text(params(3, 3, 0.5, 0, 0, 1.75, 0.5)), rows);
}

TEST(ROIMaskPooling, Errors) {
  Context ctx = Context::cpu(1);
  Tensor<float> x({2, 3, 7, 9}), y;
  Tensor<float> rois = test::make_rois<float>({{0, 1, 1, 5, 5}, {3, 1, 1, 5, 5}});
  Tensor<float> rois6({2, 6});
  const auto ok = params(2, 2, 0.5, 0, 0, 1, 0);
  for (int half : {-1, 5}) {
    auto p = ok;
    p.half_part = half;
    EXPECT_THROW(test::make_layer<float>(mask_text(p), ctx, {&x, &rois}, {&y}), ConfigError);
  }
  for (auto p : {params(0, 2, 0.5, 0, 0, 1, 0), params(2, 0, 0.5, 0, 0, 1, 0),
                 params(2, 2, 0, 0, 0, 1, 0), params(2, 2, 0.5, 0, 0, 0, 0),
                 params(2, 2, 0.5, 0, 0, -1, 0), params(2, 2, 0.5, 0, 0, 1, -0.5)})
    EXPECT_THROW(test::make_layer<float>(mask_text(p), ctx, {&x, &rois}, {&y}), ConfigError)
        << mask_text(p);
  EXPECT_THROW(test::make_layer<float>(mask_text(ok), ctx, {&x, &rois6}, {&y}), ShapeError);
  auto layer = test::make_layer<float>(mask_text(ok), ctx, {&x, &rois}, {&y});
  try {
    layer->forward(ctx, {&x, &rois}, {&y});
    ADD_FAILURE() << "expected DataError";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("RoI 1"), std::string::npos) << e.what();
  }
}

TEST(ROIMaskPooling, EdgeCases) {
  Context ctx = Context::cpu(1);
  Tensor<double> x({2, 3, 7, 9}), y;
  test::fill_uniform(x, 1, 2, 12);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  // Fully outside even when enlarged, and non-finite corners: zeros and no gradient.
  Tensor<double> rois = test::make_rois<double>(
      {{0, 60, 60, 70, 70}, {1, nan, 1, 5, 5}, {0, 1, 1, inf, 5}, {1, -inf, -inf, inf, inf}});
  Tensor<double> dy({4, 3, 2, 2});
  dy.set_data(1.0);
  for (const auto& p : {params(2, 2, 0.5, 0, 0, 1.8, 0), params(2, 2, 0.5, 0, 2, 1.0, 0.5)}) {
    auto layer = test::make_layer<double>(mask_text(p), ctx, {&x, &rois}, {&y});
    auto [out, dx] = test::forward_backward(*layer, ctx, x, rois, y, dy);
    for (double v : out) EXPECT_EQ(v, 0.0);
    for (double g : dx) EXPECT_EQ(g, 0.0);
  }
  Tensor<double> none({0, 5}), dy0({0, 3, 2, 2});
  auto layer = test::make_layer<double>(mask_text(params(2, 2, 0.5, 0, 1, 1.8, 0.5)), ctx,
                                        {&x, &none}, {&y});
  auto [out0, dx0] = test::forward_backward(*layer, ctx, x, none, y, dy0);
  for (double g : dx0) EXPECT_EQ(g, 0.0);
}

TEST(ROIMaskPooling, MatchesGoldenSpec) {
  Context ctx = Context::cpu(1);
  auto x = test::load_golden<double>("roi_pooling/features.npy");
  auto rois = test::load_golden<double>("roi_pooling/rois.npy");
  struct Case {
    const char* name;
    ref::RoiMaskPoolParams p;
  };
  // As MASK_CASES in tests/golden/make_roi_pooling.py.
  for (const Case& c : {Case{"plain", params(3, 2, 0.5, 0, 0, 1.0, 0)},
                        Case{"ctx18", params(3, 3, 0.5, 0, 0, 1.8, 0)},
                        Case{"half1", params(2, 3, 0.5, 0, 1, 0.8, 0)},
                        Case{"half2", params(2, 2, 0.5, 0, 2, 1.2, 0)},
                        Case{"half3", params(3, 2, 0.5, 0, 3, 1.5, 0)},
                        Case{"half4", params(2, 2, 0.5, 0, 4, 1.0, 0)},
                        Case{"mask", params(3, 3, 0.5, 0, 0, 2.0, 0.8)},
                        Case{"mask_half4_shift", params(2, 3, 0.5, -0.25, 4, 1.6, 0.5)}}) {
    SCOPED_TRACE(c.name);
    const std::string base = std::string("roi_pooling/mask_") + c.name;
    auto proj = test::load_golden<double>(base + "_proj.npy");
    auto want_y = test::load_golden<double>(base + "_out.npy");
    auto want_dx = test::load_golden<double>(base + "_grad.npy");
    Tensor<double> y;
    auto layer = test::make_layer<double>(mask_text(c.p), ctx, {&x, &rois}, {&y});
    auto [out, dx] = test::forward_backward(*layer, ctx, x, rois, y, proj);
    ASSERT_EQ(y.shape(), want_y.shape());
    test::expect_near(out.data(), want_y.cpu_data(), want_y.count(), 1e-12, "golden y");
    test::expect_near(dx.data(), want_dx.cpu_data(), want_dx.count(), 1e-12, "golden dx");
  }
}

// Same GATHER bodies on the device: bitwise equal to the CPU layer.
TEST(GpuROIMaskPooling, LaunchersMatchCpu) {
  CREMA_REQUIRE_GPU();
#if CREMA_WITH_CUDA
  Context ctx = Context::cpu(1);
  Tensor<float> x({2, 3, 7, 9}), y, dy({8, 3, 3, 3});
  test::fill_uniform(x, -1, 1, 41);
  test::fill_uniform(dy, -1, 1, 42);
  Tensor<float> rois = test::make_rois<float>(kRois);
  auto layer = test::make_layer<float>(mask_text(params(3, 3, 0.5, 0, 2, 1.75, 0.5)), ctx,
                                       {&x, &rois}, {&y});
  auto [want_y, want_dx] = test::forward_backward(*layer, ctx, x, rois, y, dy);
  kernels::RoiPoolArgs<float> a;
  a.num_rois = 8;
  a.batch = 2;
  a.channels = 3;
  a.height = 7;
  a.width = 9;
  a.pooled_h = 3;
  a.pooled_w = 3;
  a.spatial_scale = 0.5f;
  a.rescale = true;
  a.roi_scale = 1.75f;
  a.half_part = 2;
  a.mask_scale = 0.5f;
  const test::RoiPoolLaunch got = test::run_roi_pool_launchers(a, x, rois, dy);
  EXPECT_EQ(got.y, want_y);
  EXPECT_EQ(got.dx, want_dx);
#endif
}

// ROIMaskPooling runs ROIPooling's GPU path: against its CPU path on every parameter case (scaled
// boxes, halves, inner masks, a shift). Max selection and in-order sums; the corners stay off
// rounding ties and every scaling is by a power of two or exact in float: bitwise.
TEST(GpuROIMaskPooling, LayerMatchesCpu) {
  CREMA_REQUIRE_GPU();
  Tensor<float> x({2, 3, 7, 9});
  test::fill_distinct(x, 93);
  Tensor<float> rois = test::make_rois<float>(kRois);
  for (const auto& p : kCases) {
    SCOPED_TRACE(mask_text(p));
    test::expect_gpu_matches_cpu_multi<float>(mask_text(p), {&x, &rois}, {true, false}, 0);
  }
}

}  // namespace
}  // namespace crema
