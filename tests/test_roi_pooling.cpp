#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <tuple>
#include <vector>

#include "cuda_kernels/roi_pooling.h"
#include "ops/roi_pooling_layer.h"
#include "tests/cuda_test_util.h"
#include "tests/gpu_compare.h"
#include "tests/layer_checks.h"
#include "tests/reference/roi_pooling_ref.h"
#include "tests/roi_test_util.h"
#include "tests/test_util.h"

namespace crema {
namespace {

std::string pool_text(int ph, int pw, double scale) {
  return "name: 'pool' type: 'ROIPooling' roi_pooling_param { pooled_h: " + std::to_string(ph) +
         " pooled_w: " + std::to_string(pw) + " spatial_scale: " + std::to_string(scale) + " }";
}

// Image-coordinate RoIs on a 2 x C x 7 x 9 map at scale 0.5: inside, whole map, partly off, fully
// off, a point, x2 < x1, negative start (integer corners so float and double round alike).
const std::vector<std::array<double, 5>> kRois = {
    {0, 1, 1, 10, 8}, {1, 0, 0, 17, 13}, {0, 12, 6, 30, 20}, {1, 40, 40, 60, 50},
    {0, 5, 5, 5, 5},  {1, 8, 3, 6, 9},   {0, -6, -4, 4, 3},  {1, 3, 2, 9, 11}};

template <class T>
void check_against_reference(int ph, int pw, double scale) {
  Context ctx = Context::cpu(1);
  Tensor<T> x({2, 3, 7, 9}), y, dy({8, 3, ph, pw});
  test::fill_distinct(x, 3);
  test::fill_uniform(dy, -1, 1, 4);
  Tensor<T> rois = test::make_rois<T>(kRois);
  auto layer = test::make_layer<T>(pool_text(ph, pw, scale), ctx, {&x, &rois}, {&y});
  const auto [out, dx] = test::forward_backward(*layer, ctx, x, rois, y, dy);
  const auto want =
      ref::roi_pool(x.cpu_data(), 2, 3, 7, 9, rois.cpu_data(), 8, ph, pw, scale, dy.cpu_data());
  test::expect_near(out.data(), test::as<T>(want.y).data(), y.count(), 1e-6, "roi_pool y");
  test::expect_near(dx.data(), test::as<T>(want.dx).data(), x.count(), 1e-6, "roi_pool dx");
  const auto& argmax = static_cast<ROIPoolingLayer<T>&>(*layer).argmax();
  for (int64_t o = 0; o < y.count(); ++o) {
    const int64_t plane = want.from[o] < 0 ? -1 : want.from[o] % (7 * 9);
    EXPECT_EQ(argmax[o], plane) << o;
  }
}

TEST(ROIPooling, ForwardBackwardMatchReference) {
  for (auto [ph, pw, scale] :
       {std::tuple{3, 2, 0.5}, {2, 2, 1.0}, {4, 3, 0.25}, {1, 1, 0.5}, {7, 5, 0.5}}) {
    SCOPED_TRACE(std::to_string(ph) + "x" + std::to_string(pw) + " @" + std::to_string(scale));
    check_against_reference<float>(ph, pw, scale);
    check_against_reference<double>(ph, pw, scale);
  }
}

TEST(ROIPooling, GradientDouble) {
  Context ctx = Context::cpu(1);
  Tensor<double> x({2, 2, 5, 6}), y;
  test::fill_distinct(x, 5);
  Tensor<double> rois = test::make_rois<double>(
      {{0, 0, 0, 10, 8}, {1, 2, 2, 9, 7}, {1, -4, 6, 6, 14}, {0, 20, 20, 30, 30}});
  auto layer = test::make_layer<double>(pool_text(2, 3, 0.5), ctx, {&x, &rois}, {&y});
  test::GradCheck opt;
  opt.bottoms = {0};
  test::check_gradient<double>(*layer, ctx, {&x, &rois}, {&y}, opt);
}

TEST(ROIPooling, ThreadCountDoesNotChangeResults) {
  std::vector<std::array<double, 5>> rows;
  for (int r = 0; r < 24; ++r)
    rows.push_back({double(r % 2), 1.0 * r, 2.0 * (r % 5), 8.0 + r, 20.0});
  test::expect_same_with_one_and_two_threads(pool_text(3, 3, 0.5), rows);
}

TEST(ROIPooling, Errors) {
  Context ctx = Context::cpu(1);
  Tensor<float> x({2, 3, 7, 9}), y, x3({3, 7, 9});
  Tensor<float> rois = test::make_rois<float>({{0, 1, 1, 5, 5}, {1, 1, 1, 5, 5}, {2, 0, 0, 4, 4}});
  Tensor<float> rois4({3, 4}), rois3({3, 5, 2});
  EXPECT_THROW(test::make_layer<float>(pool_text(0, 2, 0.5), ctx, {&x, &rois}, {&y}), ConfigError);
  EXPECT_THROW(test::make_layer<float>(pool_text(2, 0, 0.5), ctx, {&x, &rois}, {&y}), ConfigError);
  EXPECT_THROW(test::make_layer<float>(pool_text(2, 2, 0), ctx, {&x, &rois}, {&y}), ConfigError);
  EXPECT_THROW(test::make_layer<float>(pool_text(2, 2, -1), ctx, {&x, &rois}, {&y}), ConfigError);
  EXPECT_THROW(test::make_layer<float>(pool_text(2, 2, 1), ctx, {&x, &rois4}, {&y}), ShapeError);
  EXPECT_THROW(test::make_layer<float>(pool_text(2, 2, 1), ctx, {&x, &rois3}, {&y}), ShapeError);
  EXPECT_THROW(test::make_layer<float>(pool_text(2, 2, 1), ctx, {&x3, &rois}, {&y}), ShapeError);
  EXPECT_THROW(test::make_layer<float>(pool_text(2, 2, 1), ctx, {&x}, {&y}), ConfigError);
  // RoI 2 names image 2 of a batch of 2.
  auto layer = test::make_layer<float>(pool_text(2, 2, 1), ctx, {&x, &rois}, {&y});
  try {
    layer->forward(ctx, {&x, &rois}, {&y});
    ADD_FAILURE() << "expected DataError";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("RoI 2"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("batch index 2"), std::string::npos) << e.what();
  }
  for (float bad : {-1.0f, std::numeric_limits<float>::quiet_NaN(), 2.5f}) {
    rois.mutable_cpu_data()[10] = bad;
    EXPECT_THROW(layer->forward(ctx, {&x, &rois}, {&y}), DataError) << bad;
  }
}

TEST(ROIPooling, EdgeCases) {
  Context ctx = Context::cpu(1);
  Tensor<double> x({2, 3, 7, 9}), y;
  test::fill_uniform(x, 1, 2, 12);  // all positive: a 0 output can only come from an empty bin
  // No RoIs: an empty top, and a zero gradient.
  Tensor<double> none({0, 5});
  auto empty = test::make_layer<double>(pool_text(2, 2, 0.5), ctx, {&x, &none}, {&y});
  EXPECT_EQ(y.shape(), (std::vector<int64_t>{0, 3, 2, 2}));
  Tensor<double> dy0({0, 3, 2, 2});
  auto [out0, dx0] = test::forward_backward(*empty, ctx, x, none, y, dy0);
  for (double g : dx0) EXPECT_EQ(g, 0.0);
  // Fully outside, NaN and infinite coordinates: zeros, argmax -1, zero gradient, no stray reads
  // (ASan checks the last).
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  Tensor<double> rois = test::make_rois<double>({{0, 40, 40, 60, 60},
                                                 {1, -60, -60, -30, -30},
                                                 {0, nan, 1, 5, 5},
                                                 {1, 1, 1, inf, 5},
                                                 {0, 1, -inf, 5, nan},
                                                 {1, 1e30, 1e30, -1e30, -1e30}});
  Tensor<double> dy({6, 3, 2, 2});
  dy.set_data(1.0);
  auto layer = test::make_layer<double>(pool_text(2, 2, 0.5), ctx, {&x, &rois}, {&y});
  auto [out, dx] = test::forward_backward(*layer, ctx, x, rois, y, dy);
  for (double v : out) EXPECT_EQ(v, 0.0);
  for (double g : dx) EXPECT_EQ(g, 0.0);
  for (int32_t a : static_cast<ROIPoolingLayer<double>&>(*layer).argmax()) EXPECT_EQ(a, -1);
}

TEST(ROIPooling, MatchesTorchvisionGolden) {
  Context ctx = Context::cpu(1);
  auto x = test::load_golden<double>("roi_pooling/features.npy");
  auto rois = test::load_golden<double>("roi_pooling/rois.npy");
  for (auto [name, ph, pw, scale] :
       {std::tuple{"p3x2_s05", 3, 2, 0.5}, {"p2x2_s1", 2, 2, 1.0}, {"p4x3_s025", 4, 3, 0.25}}) {
    SCOPED_TRACE(name);
    const std::string base = std::string("roi_pooling/pool_") + name;
    auto proj = test::load_golden<double>(base + "_proj.npy");
    auto want_y = test::load_golden<double>(base + "_out.npy");
    auto want_dx = test::load_golden<double>(base + "_grad.npy");
    Tensor<double> y;
    auto layer = test::make_layer<double>(pool_text(ph, pw, scale), ctx, {&x, &rois}, {&y});
    auto [out, dx] = test::forward_backward(*layer, ctx, x, rois, y, proj);
    ASSERT_EQ(y.shape(), want_y.shape());
    test::expect_near(out.data(), want_y.cpu_data(), want_y.count(), 1e-12, "golden y");
    test::expect_near(dx.data(), want_dx.cpu_data(), want_dx.count(), 1e-12, "golden dx");
  }
}

// The launchers run the same GATHER bodies as the CPU path, so results agree bit for bit.
TEST(GpuROIPooling, LaunchersMatchCpu) {
  CREMA_REQUIRE_GPU();
#if CREMA_WITH_CUDA
  Context ctx = Context::cpu(1);
  Tensor<float> x({2, 3, 7, 9}), y, dy({8, 3, 3, 2});
  test::fill_uniform(x, -1, 1, 31);
  test::fill_uniform(dy, -1, 1, 32);
  Tensor<float> rois = test::make_rois<float>(kRois);
  auto layer = test::make_layer<float>(pool_text(3, 2, 0.5), ctx, {&x, &rois}, {&y});
  auto [want_y, want_dx] = test::forward_backward(*layer, ctx, x, rois, y, dy);
  kernels::RoiPoolArgs<float> a;
  a.num_rois = 8;
  a.batch = 2;
  a.channels = 3;
  a.height = 7;
  a.width = 9;
  a.pooled_h = 3;
  a.pooled_w = 2;
  a.spatial_scale = 0.5f;
  const test::RoiPoolLaunch got = test::run_roi_pool_launchers(a, x, rois, dy);
  EXPECT_EQ(got.y, want_y);
  EXPECT_EQ(got.dx, want_dx);
  EXPECT_EQ(got.argmax, static_cast<ROIPoolingLayer<float>&>(*layer).argmax());
#endif
}

// The layer's GPU path (device boxes and argmax) against its CPU path for several output sizes
// and scales. Max selection and in-order sums of dy; the RoIs have integer corners and the scales
// are powers of two, so the box geometry is exact on both devices: bitwise.
TEST(GpuROIPooling, LayerMatchesCpu) {
  CREMA_REQUIRE_GPU();
  Tensor<float> x({2, 3, 7, 9});
  test::fill_distinct(x, 91);
  Tensor<float> rois = test::make_rois<float>(kRois);
  for (const auto& [ph, pw, scale] : std::vector<std::tuple<int, int, double>>{
           {3, 2, 0.5}, {2, 4, 0.25}, {1, 1, 1.0}, {7, 7, 0.5}}) {
    SCOPED_TRACE(pool_text(ph, pw, scale));
    test::expect_gpu_matches_cpu_multi<float>(pool_text(ph, pw, scale), {&x, &rois}, {true, false},
                                              0);
  }
  // A batch index outside the batch is the CPU path's DataError on the GPU too.
  Context gpu = Context::gpu(0, 1);
  Tensor<float> y;
  Tensor<float> bad = test::make_rois<float>({{-1, 1, 1, 5, 5}});
  auto layer = test::make_layer<float>(pool_text(2, 2, 0.5), gpu, {&x, &bad}, {&y});
  EXPECT_THROW(layer->forward(gpu, {&x, &bad}, {&y}), DataError);
}

}  // namespace
}  // namespace crema
