#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "cuda_kernels/roi_align.h"
#include "ops/roi_align_layer.h"
#include "tests/cuda_test_util.h"
#include "tests/gpu_compare.h"
#include "tests/layer_checks.h"
#include "tests/reference/roi_align_ref.h"
#include "tests/roi_test_util.h"
#include "tests/test_util.h"

namespace crema {
namespace {

ref::RoiAlignParams params(int ph, int pw, double scale, int ratio, bool aligned) {
  ref::RoiAlignParams p;
  p.ph = ph;
  p.pw = pw;
  p.scale = scale;
  p.sampling_ratio = ratio;
  p.aligned = aligned;
  return p;
}

std::string align_text(const ref::RoiAlignParams& p) {
  return "name: 'align' type: 'ROIAlign' roi_align_param { pooled_h: " + std::to_string(p.ph) +
         " pooled_w: " + std::to_string(p.pw) + " spatial_scale: " + std::to_string(p.scale) +
         " sampling_ratio: " + std::to_string(p.sampling_ratio) +
         " aligned: " + (p.aligned ? "true" : "false") + " }";
}

// On a 2 x C x 7 x 9 map: inside, whole map, partly off, fully off, a point, x2 < x1, negative
// start, fractional corners, a tiny box, over the bottom-right edge.
const std::vector<std::array<double, 5>> kRois = {
    {0, 1, 1, 10, 8},        {1, 0, 0, 17, 13},     {0, 12, 6, 30, 20}, {1, 40, 40, 60, 50},
    {0, 5, 5, 5, 5},         {1, 8, 3, 6, 9},       {0, -6, -4, 4, 3},  {1, 3.3, 2.7, 9.6, 11.2},
    {0, 7.1, 4.2, 7.4, 4.9}, {1, 10.5, 8.5, 19, 15}};

const std::vector<ref::RoiAlignParams> kCases = {
    params(3, 2, 0.5, 0, false), params(3, 2, 0.5, 2, false), params(3, 2, 0.5, 0, true),
    params(3, 2, 0.5, 2, true),  params(2, 4, 0.25, 1, true), params(7, 7, 1.0, 0, true),
    params(1, 1, 0.5, 3, false), params(1, 1, 1.0, 0, false), params(2, 1, 1.0, 5, true)};

template <class T>
void check_against_reference(const ref::RoiAlignParams& p, double tol, int64_t channels = 3) {
  Context ctx = Context::cpu(1);
  const int64_t R = static_cast<int64_t>(kRois.size()), C = channels;
  Tensor<T> x({2, C, 7, 9}), y, dy({R, C, p.ph, p.pw});
  test::fill_uniform(x, -1, 1, 3);
  test::fill_uniform(dy, -1, 1, 4);
  Tensor<T> rois = test::make_rois<T>(kRois);
  auto layer = test::make_layer<T>(align_text(p), ctx, {&x, &rois}, {&y});
  const auto [out, dx] = test::forward_backward(*layer, ctx, x, rois, y, dy);
  const auto want = ref::roi_align(x.cpu_data(), 2, C, 7, 9, rois.cpu_data(), R, p, dy.cpu_data());
  test::expect_near(out.data(), test::as<T>(want.y).data(), y.count(), tol, "roi_align y");
  test::expect_near(dx.data(), test::as<T>(want.dx).data(), x.count(), tol, "roi_align dx");
}

TEST(ROIAlign, ForwardBackwardMatchReference) {
  for (const auto& p : kCases) {
    SCOPED_TRACE(align_text(p));
    check_against_reference<float>(p, 1e-5);
    check_against_reference<double>(p, 1e-12);
  }
}

// Channels are processed in blocks of kernels::kRoiAlignChannelBlock: full and partial blocks.
TEST(ROIAlign, ManyChannelsMatchReference) {
  for (int64_t channels : {16, 37}) {
    SCOPED_TRACE(channels);
    check_against_reference<float>(params(3, 2, 0.5, 2, true), 1e-5, channels);
    check_against_reference<double>(params(2, 3, 0.5, 0, false), 1e-12, channels);
  }
}

TEST(ROIAlign, GradientDouble) {
  for (const auto& p : {params(2, 3, 0.5, 0, false), params(2, 2, 0.5, 2, true)}) {
    SCOPED_TRACE(align_text(p));
    Context ctx = Context::cpu(1);
    Tensor<double> x({2, 2, 5, 6}), y;
    test::fill_uniform(x, -1, 1, 5);
    Tensor<double> rois = test::make_rois<double>(
        {{0, 0, 0, 10, 8}, {1, 2.5, 1.5, 9, 7}, {1, -4, 6, 6, 14}, {0, 20, 20, 30, 30}});
    auto layer = test::make_layer<double>(align_text(p), ctx, {&x, &rois}, {&y});
    test::GradCheck opt;
    opt.bottoms = {0};
    test::check_gradient<double>(*layer, ctx, {&x, &rois}, {&y}, opt);
  }
}

// Backward is a GATHER over feature rows, so thread count cannot change a single bit.
TEST(ROIAlign, ThreadCountDoesNotChangeResults) {
  std::vector<std::array<double, 5>> rows;
  for (int r = 0; r < 24; ++r)
    rows.push_back({double(r % 2), 0.7 * r, 1.3 * (r % 5), 8.2 + r, 20.5});
  for (const auto& p : {params(3, 3, 0.5, 0, true), params(3, 3, 0.5, 2, false)}) {
    SCOPED_TRACE(align_text(p));
    test::expect_same_with_one_and_two_threads(align_text(p), rows);
  }
}

TEST(ROIAlign, Errors) {
  Context ctx = Context::cpu(1);
  Tensor<float> x({2, 3, 7, 9}), y, x5({2, 3, 7, 9, 1});
  Tensor<float> rois = test::make_rois<float>({{0, 1, 1, 5, 5}, {1, 1, 1, 5, 5}, {-1, 0, 0, 4, 4}});
  Tensor<float> rois4({3, 4}), rois1({5});
  const auto ok = params(2, 2, 0.5, 2, true);
  for (auto p : {params(0, 2, 0.5, 2, true), params(2, 0, 0.5, 2, true), params(2, 2, 0, 2, true),
                 params(2, 2, -0.5, 2, true)})
    EXPECT_THROW(test::make_layer<float>(align_text(p), ctx, {&x, &rois}, {&y}), ConfigError)
        << align_text(p);
  EXPECT_THROW(test::make_layer<float>(align_text(ok), ctx, {&x, &rois4}, {&y}), ShapeError);
  EXPECT_THROW(test::make_layer<float>(align_text(ok), ctx, {&x, &rois1}, {&y}), ShapeError);
  EXPECT_THROW(test::make_layer<float>(align_text(ok), ctx, {&x5, &rois}, {&y}), ShapeError);
  auto layer = test::make_layer<float>(align_text(ok), ctx, {&x, &rois}, {&y});
  try {
    layer->forward(ctx, {&x, &rois}, {&y});
    ADD_FAILURE() << "expected DataError";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("RoI 2"), std::string::npos) << e.what();
  }
}

TEST(ROIAlign, EdgeCases) {
  Context ctx = Context::cpu(1);
  Tensor<double> x({2, 3, 7, 9}), y;
  test::fill_uniform(x, 1, 2, 12);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  // Fully outside and non-finite corners: zeros and zero gradient, no stray reads (ASan).
  Tensor<double> rois = test::make_rois<double>({{0, 40, 40, 60, 60},
                                                 {1, -60, -60, -30, -30},
                                                 {0, nan, 1, 5, 5},
                                                 {1, 1, 1, inf, 5},
                                                 {0, 1, -inf, 5, nan},
                                                 {1, -inf, -inf, inf, inf}});
  Tensor<double> dy({6, 3, 2, 2});
  dy.set_data(1.0);
  for (const auto& p :
       {params(2, 2, 0.5, 0, true), params(2, 2, 0.5, 2, false), params(2, 2, 0.5, 0, false)}) {
    SCOPED_TRACE(align_text(p));
    auto layer = test::make_layer<double>(align_text(p), ctx, {&x, &rois}, {&y});
    auto [out, dx] = test::forward_backward(*layer, ctx, x, rois, y, dy);
    for (double v : out) EXPECT_EQ(v, 0.0);
    for (double g : dx) EXPECT_EQ(g, 0.0);
  }
  // A degenerate box with adaptive sampling and aligned: zero samples, output 0.
  Tensor<double> point = test::make_rois<double>({{0, 5, 5, 5, 5}}), dy1({1, 3, 2, 2});
  dy1.set_data(1.0);
  auto layer =
      test::make_layer<double>(align_text(params(2, 2, 0.5, 0, true)), ctx, {&x, &point}, {&y});
  auto [out1, dx1] = test::forward_backward(*layer, ctx, x, point, y, dy1);
  for (double v : out1) EXPECT_EQ(v, 0.0);
  // No RoIs.
  Tensor<double> none({0, 5}), dy0({0, 3, 2, 2});
  auto empty =
      test::make_layer<double>(align_text(params(2, 2, 0.5, 2, true)), ctx, {&x, &none}, {&y});
  EXPECT_EQ(y.shape(), (std::vector<int64_t>{0, 3, 2, 2}));
  auto [out0, dx0] = test::forward_backward(*empty, ctx, x, none, y, dy0);
  for (double g : dx0) EXPECT_EQ(g, 0.0);
}

TEST(ROIAlign, MatchesTorchvisionGolden) {
  Context ctx = Context::cpu(1);
  auto x = test::load_golden<double>("roi_align/features.npy");
  auto rois = test::load_golden<double>("roi_align/rois.npy");
  struct Case {
    const char* name;
    ref::RoiAlignParams p;
  };
  // As CASES in tests/golden/make_roi_align.py.
  for (const Case& c :
       {Case{"a0_s0", params(3, 2, 0.5, 0, false)}, Case{"a0_s2", params(3, 2, 0.5, 2, false)},
        Case{"a1_s0", params(3, 2, 0.5, 0, true)}, Case{"a1_s2", params(3, 2, 0.5, 2, true)},
        Case{"a1_p2x4_s1", params(2, 4, 0.25, 1, true)}}) {
    SCOPED_TRACE(c.name);
    const std::string base = std::string("roi_align/") + c.name;
    auto proj = test::load_golden<double>(base + "_proj.npy");
    auto want_y = test::load_golden<double>(base + "_out.npy");
    auto want_dx = test::load_golden<double>(base + "_grad.npy");
    Tensor<double> y;
    auto layer = test::make_layer<double>(align_text(c.p), ctx, {&x, &rois}, {&y});
    auto [out, dx] = test::forward_backward(*layer, ctx, x, rois, y, proj);
    ASSERT_EQ(y.shape(), want_y.shape());
    test::expect_near(out.data(), want_y.cpu_data(), want_y.count(), 1e-12, "golden y");
    test::expect_near(dx.data(), want_dx.cpu_data(), want_dx.count(), 1e-12, "golden dx");
  }
}

// Same GATHER bodies on the device: bitwise equal to the CPU layer.
TEST(GpuROIAlign, LaunchersMatchCpu) {
  CREMA_REQUIRE_GPU();
#if CREMA_WITH_CUDA
  Context ctx = Context::cpu(1);
  const int64_t R = static_cast<int64_t>(kRois.size());
  Tensor<float> x({2, 3, 7, 9}), y, dy({R, 3, 3, 2});
  test::fill_uniform(x, -1, 1, 51);
  test::fill_uniform(dy, -1, 1, 52);
  Tensor<float> rois = test::make_rois<float>(kRois);
  auto layer =
      test::make_layer<float>(align_text(params(3, 2, 0.5, 0, true)), ctx, {&x, &rois}, {&y});
  auto [want_y, want_dx] = test::forward_backward(*layer, ctx, x, rois, y, dy);
  kernels::RoiAlignArgs<float> a;
  a.num_rois = R;
  a.batch = 2;
  a.channels = 3;
  a.height = 7;
  a.width = 9;
  a.pooled_h = 3;
  a.pooled_w = 2;
  a.spatial_scale = 0.5f;
  a.sampling_ratio = 0;
  a.aligned = true;
  a.channel_blocks = 1;
  testing::DeviceBuffer<float> d_rois(
      std::vector<float>(rois.cpu_data(), rois.cpu_data() + rois.count()));
  testing::DeviceBuffer<float> d_x(std::vector<float>(x.cpu_data(), x.cpu_data() + x.count()));
  testing::DeviceBuffer<float> d_dy(std::vector<float>(dy.cpu_data(), dy.cpu_data() + dy.count()));
  testing::DeviceBuffer<float> d_y(static_cast<size_t>(y.count())),
      d_dx(static_cast<size_t>(x.count()));
  testing::DeviceBuffer<kernels::RoiAlignBox<float>> d_boxes(
      std::vector<kernels::RoiAlignBox<float>>(static_cast<size_t>(R)));
  cuda::launch_roi_align_geometry<float>(nullptr, R, a, d_rois.get(), d_boxes.get());
  cuda::launch_roi_align_forward<float>(nullptr, R, a, d_boxes.get(), d_x.get(), d_y.get());
  cuda::launch_roi_align_backward<float>(nullptr, 2 * 7, a, d_boxes.get(), d_dy.get(), d_dx.get());
  // Device and host may contract multiply-adds differently; allow float rounding.
  test::expect_near(d_y.to_host().data(), want_y.data(), y.count(), 1e-5, "gpu y");
  test::expect_near(d_dx.to_host().data(), want_dx.data(), x.count(), 1e-5, "gpu dx");
#endif
}

// The layer's GPU path (device boxes, forward, backward) against its CPU path on every parameter
// case, also with more channels than one channel block. The bodies are GATHER but multiply-add
// heavy (bilinear weights), which nvcc contracts into fused multiply-adds: 1e-5 relative.
TEST(GpuROIAlign, LayerMatchesCpu) {
  CREMA_REQUIRE_GPU();
  Tensor<float> rois = test::make_rois<float>(kRois);
  for (const int64_t channels : {int64_t{3}, int64_t{kernels::kRoiAlignChannelBlock + 3}}) {
    Tensor<float> x({2, channels, 7, 9});
    test::fill_uniform(x, -1, 1, 53);
    for (const auto& p : kCases) {
      SCOPED_TRACE(align_text(p));
      test::expect_gpu_matches_cpu_multi<float>(align_text(p), {&x, &rois}, {true, false},
                                                test::kGpuMathTol);
    }
  }
  // A batch index outside the batch is the CPU path's DataError on the GPU too.
  Context gpu = Context::gpu(0, 1);
  Tensor<float> x({2, 3, 7, 9}), y;
  Tensor<float> bad = test::make_rois<float>({{2, 1, 1, 5, 5}});
  auto layer = test::make_layer<float>(align_text(kCases[0]), gpu, {&x, &bad}, {&y});
  EXPECT_THROW(layer->forward(gpu, {&x, &bad}, {&y}), DataError);
}

}  // namespace
}  // namespace crema
