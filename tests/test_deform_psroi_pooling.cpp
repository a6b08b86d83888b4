#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "core/io.h"
#include "core/parallel.h"
#include "cuda_kernels/deform_psroi_pooling.h"
#include "ops/deform_psroi_pooling_layer.h"
#include "tests/cuda_test_util.h"
#include "tests/gpu_compare.h"
#include "tests/layer_checks.h"
#include "tests/reference/deform_psroi_pooling_ref.h"
#include "tests/test_util.h"

namespace crema {
namespace {

std::string ps_text(int output_dim, int group, int pooled, int part, int samples, double scale,
                    double trans_std, bool no_trans = false) {
  return str_cat(
      "name: 'dpsroi' type: 'DeformablePSROIPooling' deformable_psroi_pooling_param { "
      "output_dim: ",
      output_dim, " group_size: ", group, " pooled_size: ", pooled, " part_size: ", part,
      " sample_per_part: ", samples, " spatial_scale: ", scale, " trans_std: ", trans_std,
      no_trans ? " no_trans: true" : "", " }");
}

std::string mmcv_text(int ph, int pw, double scale, int ratio, double gamma) {
  return str_cat(
      "name: 'droi' type: 'DeformRoIPooling' deformable_psroi_pooling_param { pooled_h: ", ph,
      " pooled_w: ", pw, " spatial_scale: ", scale, " sampling_ratio: ", ratio, " gamma: ", gamma,
      " }");
}

/// R random RoIs [batch, x1, y1, x2, y2] in image pixels, some sticking out of the image.
template <class T>
void fill_rois(Tensor<T>& rois, int64_t batch, double img_h, double img_w, uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<double> u(0, 1);
  T* r = rois.mutable_cpu_data();
  for (int64_t i = 0; i < rois.shape(0); ++i) {
    const double x1 = u(gen) * img_w * 0.7 - 1.3, y1 = u(gen) * img_h * 0.7 - 1.3;
    r[5 * i] = static_cast<T>(std::min<int64_t>(static_cast<int64_t>(u(gen) * batch), batch - 1));
    r[5 * i + 1] = static_cast<T>(x1);
    r[5 * i + 2] = static_cast<T>(y1);
    r[5 * i + 3] = static_cast<T>(x1 + 1.6 + u(gen) * img_w * 0.6);
    r[5 * i + 4] = static_cast<T>(y1 + 1.6 + u(gen) * img_h * 0.6);
  }
}

/// The proto stores scales as float: references use the same rounded values. The volatile
/// keeps the round trip through float (GCC 12 -O3 dropped a plain cast here).
double f32(double v) {
  volatile float rounded = static_cast<float>(v);
  return rounded;
}

template <class T>
std::vector<double> as_double(const Tensor<T>& t) {
  return std::vector<double>(t.cpu_data(), t.cpu_data() + t.count());
}

struct PSCase {
  int64_t n, h, w, output_dim, group, pooled, part, samples, classes, rois;
  double scale, trans_std;
};

void expect_ps_matches_reference(const PSCase& c) {
  Context ctx = Context::cpu(1);
  const int64_t channels = c.output_dim * c.group * c.group;
  Tensor<double> x({c.n, channels, c.h, c.w}), rois({c.rois, 5}), y;
  Tensor<double> trans({c.rois, 2 * std::max<int64_t>(c.classes, 1), c.part, c.part});
  test::fill_uniform(x, -1, 1, 1);
  fill_rois(rois, c.n, c.h / c.scale, c.w / c.scale, 2);
  test::fill_uniform(trans, -2, 2, 3);
  const bool no_trans = c.classes == 0;
  TensorVec<double> bottom = {&x, &rois};
  if (!no_trans) bottom.push_back(&trans);
  auto layer = test::make_layer<double>(
      ps_text(c.output_dim, c.group, c.pooled, c.part, c.samples, c.scale, c.trans_std, no_trans),
      ctx, bottom, {&y});
  layer->forward(ctx, bottom, {&y});
  ASSERT_EQ(y.shape(), (std::vector<int64_t>{c.rois, c.output_dim, c.pooled, c.pooled}));
  const ref::DeformPSRoIRef p{
      c.n,      channels, c.h,       c.w,          c.output_dim,     c.group,
      c.pooled, c.part,   c.samples, f32(c.scale), f32(c.trans_std), c.classes};
  const auto want =
      ref::deform_psroi_pooling_ref(p, as_double(x), as_double(rois), as_double(trans));
  test::expect_near(y.cpu_data(), want.data(), y.count(), 1e-12, "y");
  double nonzero = 0;
  for (double v : want) nonzero += v != 0;
  EXPECT_GT(nonzero, want.size() / 2) << "case too degenerate to test anything";
}

TEST(DeformablePSROIPooling, ForwardMatchesReference) {
  expect_ps_matches_reference({2, 7, 8, 2, 3, 3, 3, 2, 1, 5, 0.5, 0.1});
  expect_ps_matches_reference({1, 6, 6, 4, 2, 3, 2, 3, 2, 4, 1.0, 0.2});
  expect_ps_matches_reference({2, 5, 9, 3, 2, 2, 2, 4, 3, 4, 0.25, 0.15});
  expect_ps_matches_reference({2, 7, 8, 2, 3, 3, 3, 2, 0, 5, 0.5, 0.0});  // no_trans
  expect_ps_matches_reference({1, 6, 7, 1, 4, 4, 4, 1, 1, 3, 1.0, 0.1});  // sample_per_part 1
}

struct MmcvCase {
  int64_t n, c, h, w, ph, pw, ratio, rois;
  double scale, gamma;
  bool offsets;
};

void expect_mmcv_matches_reference(const MmcvCase& c) {
  Context ctx = Context::cpu(1);
  Tensor<double> x({c.n, c.c, c.h, c.w}), rois({c.rois, 5}), off({c.rois, 2, c.ph, c.pw}), y;
  test::fill_uniform(x, -1, 1, 4);
  fill_rois(rois, c.n, c.h / c.scale, c.w / c.scale, 5);
  test::fill_uniform(off, -2, 2, 6);
  TensorVec<double> bottom = {&x, &rois};
  if (c.offsets) bottom.push_back(&off);
  auto layer =
      test::make_layer<double>(mmcv_text(c.ph, c.pw, c.scale, c.ratio, c.gamma), ctx, bottom, {&y});
  layer->forward(ctx, bottom, {&y});
  ASSERT_EQ(y.shape(), (std::vector<int64_t>{c.rois, c.c, c.ph, c.pw}));
  const ref::DeformRoIMmcvRef p{c.n,  c.c,          c.h,          c.w,     c.ph,
                                c.pw, f32(c.scale), f32(c.gamma), c.ratio, c.offsets};
  const auto want =
      ref::deform_roi_pooling_mmcv_ref(p, as_double(x), as_double(rois), as_double(off));
  test::expect_near(y.cpu_data(), want.data(), y.count(), 1e-12, "y");
}

TEST(DeformRoIPooling, ForwardMatchesReference) {
  expect_mmcv_matches_reference({2, 3, 7, 6, 2, 3, 2, 5, 0.5, 0.1, true});
  expect_mmcv_matches_reference({1, 2, 8, 8, 3, 3, 0, 4, 1.0, 0.3, true});   // adaptive grid
  expect_mmcv_matches_reference({2, 2, 6, 7, 2, 2, 3, 4, 0.5, 0.1, false});  // no offsets
  expect_mmcv_matches_reference({1, 3, 5, 5, 1, 4, 1, 3, 1.0, 0.5, true});
}

TEST(DeformRoIPooling, ZeroOffsetsEqualNoOffsetsBitwise) {
  Context ctx = Context::cpu(1);
  Tensor<double> x({1, 3, 6, 6}), rois({4, 5}), off({4, 2, 2, 2}), y1, y2;
  test::fill_uniform(x, -1, 1, 7);
  fill_rois(rois, 1, 6, 6, 8);
  off.set_data(0.0);
  auto with = test::make_layer<double>(mmcv_text(2, 2, 1, 0, 0.1), ctx, {&x, &rois, &off}, {&y1});
  auto without = test::make_layer<double>(mmcv_text(2, 2, 1, 0, 0.1), ctx, {&x, &rois}, {&y2});
  with->forward(ctx, {&x, &rois, &off}, {&y1});
  without->forward(ctx, {&x, &rois}, {&y2});
  for (int64_t i = 0; i < y1.count(); ++i) ASSERT_EQ(y1.cpu_data()[i], y2.cpu_data()[i]) << i;
}

// Gradients of features and offsets by central differences. Random offsets and unrounded
// sample positions keep samples off integer coordinates (the kinks of bilinear sampling).
TEST(DeformablePSROIPooling, GradientFeaturesAndOffsets) {
  Context ctx = Context::cpu(1);
  Tensor<double> x({2, 8, 6, 7}), rois({3, 5}), trans({3, 4, 2, 2}), y;
  test::fill_uniform(x, -1, 1, 11);
  fill_rois(rois, 2, 6, 7, 12);
  test::fill_uniform(trans, -1.5, 1.5, 13);
  const TensorVec<double> bottom = {&x, &rois, &trans};
  auto layer = test::make_layer<double>(ps_text(2, 2, 2, 2, 3, 1.0, 0.1), ctx, bottom, {&y});
  test::GradCheck opt;
  opt.bottoms = {0, 2};
  opt.tol = 1e-6;
  test::check_gradient(*layer, ctx, bottom, {&y}, opt);
}

TEST(DeformablePSROIPooling, GradientNoTrans) {
  Context ctx = Context::cpu(1);
  Tensor<double> x({1, 9, 5, 6}), rois({3, 5}), y;
  test::fill_uniform(x, -1, 1, 14);
  fill_rois(rois, 1, 5, 6, 15);
  const TensorVec<double> bottom = {&x, &rois};
  auto layer = test::make_layer<double>(ps_text(1, 3, 3, 3, 2, 1.0, 0.0, true), ctx, bottom, {&y});
  test::GradCheck opt;
  opt.bottoms = {0};
  test::check_gradient(*layer, ctx, bottom, {&y}, opt);
}

TEST(DeformRoIPooling, GradientFeaturesAndOffsets) {
  for (int ratio : {2, 0}) {
    Context ctx = Context::cpu(1);
    Tensor<double> x({2, 2, 6, 7}), rois({3, 5}), off({3, 2, 2, 3}), y;
    test::fill_uniform(x, -1, 1, 16);
    fill_rois(rois, 2, 12, 14, 17);
    test::fill_uniform(off, -1.5, 1.5, 18);
    const TensorVec<double> bottom = {&x, &rois, &off};
    auto layer = test::make_layer<double>(mmcv_text(2, 3, 0.5, ratio, 0.1), ctx, bottom, {&y});
    test::GradCheck opt;
    opt.bottoms = {0, 2};
    test::check_gradient(*layer, ctx, bottom, {&y}, opt);
  }
}

// Forward and the offset gradient are GATHER (bitwise equal for any thread count); the feature
// gradient is a SCATTER with atomics (equal up to summation order).
template <class T>
void expect_threads_agree(const std::string& text, const std::vector<int64_t>& xs,
                          const std::vector<int64_t>& offs, double img_h, double img_w) {
  Tensor<T> x(xs), rois({offs[0], 5}), off(offs), y1, y2;
  test::fill_uniform(x, -1, 1, 21);
  fill_rois(rois, xs[0], img_h, img_w, 22);
  test::fill_uniform(off, -1, 1, 23);
  std::vector<std::vector<T>> out;
  for (int threads : {1, 2}) {
    Context ctx = Context::cpu(threads);
    Tensor<T> y;
    auto layer = test::make_layer<T>(text, ctx, {&x, &rois, &off}, {&y});
    layer->forward(ctx, {&x, &rois, &off}, {&y});
    ASSERT_GE(y.count(), kParallelMinItems);
    ASSERT_GE(off.count() / 2, kParallelMinItems);
    test::fill_uniform(y, -1, 1, 24);
    std::copy(y.cpu_data(), y.cpu_data() + y.count(), y.mutable_cpu_diff());
    layer->forward(ctx, {&x, &rois, &off}, {&y});
    layer->backward(ctx, {&y}, {true, false, true}, {&x, &rois, &off});
    std::vector<T> all(y.cpu_data(), y.cpu_data() + y.count());
    all.insert(all.end(), off.cpu_diff(), off.cpu_diff() + off.count());
    out.push_back(all);
    out.emplace_back(x.cpu_diff(), x.cpu_diff() + x.count());
  }
  ASSERT_EQ(out[0].size(), out[2].size());
  for (size_t i = 0; i < out[0].size(); ++i) ASSERT_EQ(out[0][i], out[2][i]) << i;
  test::expect_near(out[3].data(), out[1].data(), static_cast<int64_t>(out[1].size()), 1e-5,
                    "feature diff");
}

TEST(DeformablePSROIPooling, ThreadsAgree) {
  expect_threads_agree<float>(ps_text(4, 3, 3, 3, 2, 0.5, 0.1), {2, 36, 6, 6}, {16, 4, 3, 3}, 12,
                              12);
}

TEST(DeformRoIPooling, ThreadsAgree) {
  expect_threads_agree<float>(mmcv_text(3, 3, 0.5, 0, 0.1), {2, 2, 6, 6}, {32, 2, 3, 3}, 12, 12);
}

// --- golden files (tests/golden/make_deform_psroi_pooling.py) ---

std::vector<double> golden(const std::string& name) {
  return read_npy(std::string(CREMA_SOURCE_DIR) + "/tests/golden/deform_psroi_pooling/" + name +
                  ".npy")
      .data;
}

template <class T>
void load(Tensor<T>& t, const std::string& name) {
  const NpyArray a = read_npy(std::string(CREMA_SOURCE_DIR) +
                              "/tests/golden/deform_psroi_pooling/" + name + ".npy");
  t.reshape(a.shape);
  std::copy(a.data.begin(), a.data.end(), t.mutable_cpu_data());
}

/// Runs the case's layer on its golden inputs and compares y, dx and doffset (double, 1e-10).
void expect_golden(const std::string& c, const std::string& text, bool offsets) {
  Context ctx = Context::cpu(1);
  Tensor<double> x, rois, off, y;
  load(x, c + "_x");
  load(rois, c + "_rois");
  TensorVec<double> bottom = {&x, &rois};
  if (offsets) {
    load(off, c + "_offset");
    bottom.push_back(&off);
  }
  auto layer = test::make_layer<double>(text, ctx, bottom, {&y});
  layer->forward(ctx, bottom, {&y});
  const auto want_y = golden(c + "_y");
  ASSERT_EQ(static_cast<size_t>(y.count()), want_y.size()) << c;
  test::expect_near(y.cpu_data(), want_y.data(), y.count(), 1e-10, (c + " y").c_str());
  const auto dy = golden(c + "_dy");
  std::copy(dy.begin(), dy.end(), y.mutable_cpu_diff());
  std::vector<bool> down = {true, false};
  if (offsets) down.push_back(true);
  layer->backward(ctx, {&y}, down, bottom);
  const auto want_dx = golden(c + "_dx");
  test::expect_near(x.cpu_diff(), want_dx.data(), x.count(), 1e-10, (c + " dx").c_str());
  if (offsets) {
    const auto want_doff = golden(c + "_doffset");
    test::expect_near(off.cpu_diff(), want_doff.data(), off.count(), 1e-10,
                      (c + " doffset").c_str());
  }
}

TEST(DeformablePSROIPooling, MatchesGoldenPyTorch) {
  expect_golden("ps_trans", ps_text(2, 3, 3, 3, 2, 0.5, 0.1), true);
  expect_golden("ps_notrans", ps_text(2, 3, 3, 3, 2, 0.5, 0.1, true), false);
  expect_golden("ps_classes", ps_text(4, 2, 3, 2, 3, 1.0, 0.2), true);
}

// no_trans is plain PS-RoI pooling: torchvision's ps_roi_align on boxes shifted to
// Deformable-ConvNets' sample positions (see the golden script's docstring).
TEST(DeformablePSROIPooling, NoTransMatchesTorchvisionPsRoiAlign) {
  expect_golden("ps_vs_torchvision", ps_text(2, 2, 2, 2, 2, 1.0, 0.0, true), false);
}

TEST(DeformRoIPooling, MatchesGoldenPyTorch) {
  expect_golden("mmcv_sr2", mmcv_text(2, 3, 0.5, 2, 0.1), true);
  expect_golden("mmcv_adapt", mmcv_text(2, 2, 1.0, 0, 0.3), true);
}

// Without offsets mmcv's pooling is torchvision's roi_align(aligned=True), gradients included.
TEST(DeformRoIPooling, NoOffsetsMatchTorchvisionRoiAlign) {
  expect_golden("roialign_sr2", mmcv_text(2, 3, 0.5, 2, 0.1), false);
  expect_golden("roialign_adapt", mmcv_text(2, 2, 1.0, 0, 0.3), false);
}

// --- edge cases ---

template <class T>
void run_backward(Layer<T>& layer, Context& ctx, const TensorVec<T>& bottom, Tensor<T>& y,
                  double dy) {
  layer.forward(ctx, bottom, {&y});
  y.set_diff(static_cast<T>(dy));
  std::vector<bool> down(bottom.size(), true);
  down[1] = false;
  layer.backward(ctx, {&y}, down, bottom);
}

TEST(DeformablePSROIPooling, RoisOutsideTheImageGiveZerosAndZeroGradients) {
  for (const bool ps : {true, false}) {
    Context ctx = Context::cpu(1);
    Tensor<double> x({1, 4, 5, 5}), rois({2, 5}), off({2, 2, 2, 2}), y;
    test::fill_uniform(x, 0.5, 1, 31);
    const double r[10] = {0, 40, 40, 60, 70, 0, -90, -80, -20, -30};
    std::copy(r, r + 10, rois.mutable_cpu_data());
    off.set_data(0.0);
    const TensorVec<double> bottom = {&x, &rois, &off};
    auto layer = test::make_layer<double>(
        ps ? ps_text(1, 2, 2, 2, 2, 1.0, 0.1) : mmcv_text(2, 2, 1.0, 2, 0.1), ctx, bottom, {&y});
    run_backward(*layer, ctx, bottom, y, 1.0);
    for (int64_t i = 0; i < y.count(); ++i) EXPECT_EQ(y.cpu_data()[i], 0.0) << ps << " " << i;
    for (int64_t i = 0; i < x.count(); ++i) EXPECT_EQ(x.cpu_diff()[i], 0.0) << ps << " " << i;
    for (int64_t i = 0; i < off.count(); ++i) EXPECT_EQ(off.cpu_diff()[i], 0.0) << ps << " " << i;
  }
}

TEST(DeformablePSROIPooling, NanAndHugeOffsetsStayInBounds) {
  for (const bool ps : {true, false}) {
    Context ctx = Context::cpu(1);
    Tensor<double> x({1, 4, 5, 5}), rois({3, 5}), off({3, 2, 2, 2}), y;
    test::fill_uniform(x, -1, 1, 32);
    fill_rois(rois, 1, 5, 5, 33);
    test::fill_uniform(off, -1, 1, 34);
    double* o = off.mutable_cpu_data();
    o[0] = std::numeric_limits<double>::quiet_NaN();
    o[9] = 1e300;
    o[18] = -1e300;
    o[19] = std::numeric_limits<double>::infinity();
    const TensorVec<double> bottom = {&x, &rois, &off};
    auto layer = test::make_layer<double>(
        ps ? ps_text(1, 2, 2, 2, 2, 1.0, 0.5) : mmcv_text(2, 2, 1.0, 2, 0.5), ctx, bottom, {&y});
    run_backward(*layer, ctx, bottom, y, 1.0);
    // The bins the bad offsets move read nothing: output 0, no gradient into the features.
    for (int64_t i : {0, 1 * 4 + 1, 2 * 4 + 2})
      for (int64_t c = 0; c < y.shape(1); ++c)
        EXPECT_EQ(y.cpu_data()[(i / 4 * y.shape(1) + c) * 4 + i % 4], 0.0) << ps << " " << i;
    for (int64_t i = 0; i < x.count(); ++i) EXPECT_TRUE(std::isfinite(x.cpu_diff()[i])) << i;
    for (int64_t i = 0; i < y.count(); ++i) EXPECT_TRUE(std::isfinite(y.cpu_data()[i])) << i;
  }
}

// x1 == x2 (mmcv): zero width. Adaptive sampling gives an empty grid (output 0, no gradient,
// no division by zero); a fixed grid samples one column sampling_ratio^2 times.
TEST(DeformRoIPooling, DegenerateRoi) {
  Context ctx = Context::cpu(1);
  Tensor<double> x({1, 1, 4, 4}), rois({1, 5}), off({1, 2, 1, 1}), y;
  test::fill_uniform(x, 0.5, 1, 35);
  const double r[5] = {0, 1.25, 0.5, 1.25, 3.5};
  std::copy(r, r + 5, rois.mutable_cpu_data());
  off.set_data(0.25);
  const TensorVec<double> bottom = {&x, &rois, &off};
  auto adaptive = test::make_layer<double>(mmcv_text(1, 1, 1.0, 0, 0.1), ctx, bottom, {&y});
  run_backward(*adaptive, ctx, bottom, y, 1.0);
  EXPECT_EQ(y.cpu_data()[0], 0.0);
  for (int64_t i = 0; i < x.count(); ++i) EXPECT_EQ(x.cpu_diff()[i], 0.0) << i;
  for (int64_t i = 0; i < off.count(); ++i) EXPECT_EQ(off.cpu_diff()[i], 0.0) << i;
  auto fixed = test::make_layer<double>(mmcv_text(1, 1, 1.0, 2, 0.1), ctx, bottom, {&y});
  run_backward(*fixed, ctx, bottom, y, 1.0);
  const ref::DeformRoIMmcvRef p{1, 1, 4, 4, 1, 1, 1.0, f32(0.1), 2, true};
  const auto want =
      ref::deform_roi_pooling_mmcv_ref(p, as_double(x), as_double(rois), as_double(off));
  EXPECT_NEAR(y.cpu_data()[0], want[0], 1e-12);
  EXPECT_GT(y.cpu_data()[0], 0.4);
  double total = 0;
  for (int64_t i = 0; i < x.count(); ++i) total += x.cpu_diff()[i];
  EXPECT_NEAR(total, 1.0, 1e-12);  // all samples inside: the weights of the mean sum to 1
}

// PS RoIs: x1 == x2 after rounding still spans one pixel (the end corner is inclusive);
// x2 < x1 is widened to Deformable-ConvNets' minimum size 0.1.
TEST(DeformablePSROIPooling, DegenerateRois) {
  Context ctx = Context::cpu(1);
  Tensor<double> x({1, 1, 4, 4}), rois({2, 5}), y;
  test::fill_uniform(x, -1, 1, 36);
  const double r[10] = {0, 2.2, 1.9, 2.1, 2.3, 0, 2.7, 2.6, 1.1, 0.9};
  std::copy(r, r + 10, rois.mutable_cpu_data());
  auto layer =
      test::make_layer<double>(ps_text(1, 1, 1, 1, 2, 1.0, 0.0, true), ctx, {&x, &rois}, {&y});
  layer->forward(ctx, {&x, &rois}, {&y});
  const ref::DeformPSRoIRef p{1, 1, 4, 4, 1, 1, 1, 1, 2, 1.0, 0.0, 0};
  const auto want = ref::deform_psroi_pooling_ref(p, as_double(x), as_double(rois), {});
  for (int i = 0; i < 2; ++i) {
    EXPECT_NEAR(y.cpu_data()[i], want[i], 1e-12) << i;
    EXPECT_NE(y.cpu_data()[i], 0.0) << i;
  }
}

// --- errors ---

TEST(DeformablePSROIPooling, ErrorsOnBadShapes) {
  Context ctx = Context::cpu(1);
  Tensor<float> x({1, 18, 5, 5}), rois({2, 5}), trans({2, 2, 3, 3}), y;
  const std::string text = ps_text(2, 3, 3, 3, 2, 1.0, 0.1);
  EXPECT_NO_THROW(test::make_layer<float>(text, ctx, {&x, &rois, &trans}, {&y}));
  Tensor<float> x_bad({1, 17, 5, 5});  // output_dim * group^2 = 18
  EXPECT_THROW(test::make_layer<float>(text, ctx, {&x_bad, &rois, &trans}, {&y}), ShapeError);
  Tensor<float> x3({18, 5, 5});
  EXPECT_THROW(test::make_layer<float>(text, ctx, {&x3, &rois, &trans}, {&y}), ShapeError);
  Tensor<float> rois4({2, 4});
  EXPECT_THROW(test::make_layer<float>(text, ctx, {&x, &rois4, &trans}, {&y}), ShapeError);
  Tensor<float> trans_rows({3, 2, 3, 3}), trans_part({2, 2, 2, 2}), trans_odd({2, 3, 3, 3}),
      trans_classes({2, 6, 3, 3});  // 3 classes do not divide output_dim 2
  for (Tensor<float>* t : {&trans_rows, &trans_part, &trans_odd, &trans_classes})
    EXPECT_THROW(test::make_layer<float>(text, ctx, {&x, &rois, t}, {&y}), ShapeError)
        << t->shape_string();
}

TEST(DeformablePSROIPooling, ErrorsOnBadParameters) {
  Context ctx = Context::cpu(1);
  Tensor<float> x({1, 18, 5, 5}), rois({2, 5}), trans({2, 2, 3, 3}), y;
  const TensorVec<float> with = {&x, &rois, &trans}, without = {&x, &rois};
  EXPECT_THROW(test::make_layer<float>(ps_text(0, 3, 3, 3, 2, 1, 0.1), ctx, with, {&y}),
               ConfigError);
  EXPECT_THROW(test::make_layer<float>(ps_text(2, 0, 3, 3, 2, 1, 0.1), ctx, with, {&y}),
               ConfigError);
  EXPECT_THROW(test::make_layer<float>(ps_text(2, 3, 0, 3, 2, 1, 0.1), ctx, with, {&y}),
               ConfigError);
  EXPECT_THROW(test::make_layer<float>(ps_text(2, 3, 3, 3, 0, 1, 0.1), ctx, with, {&y}),
               ConfigError);
  EXPECT_THROW(test::make_layer<float>(ps_text(2, 3, 3, 3, 2, 0, 0.1), ctx, with, {&y}),
               ConfigError);
  // no_trans must agree with the number of bottoms.
  EXPECT_THROW(test::make_layer<float>(ps_text(2, 3, 3, 3, 2, 1, 0.1), ctx, without, {&y}),
               ConfigError);
  EXPECT_THROW(test::make_layer<float>(ps_text(2, 3, 3, 3, 2, 1, 0.1, true), ctx, with, {&y}),
               ConfigError);
  // mmcv-only fields on the PS type, and PS-only fields on the mmcv type.
  EXPECT_THROW(test::make_layer<float>("type: 'DeformablePSROIPooling' "
                                       "deformable_psroi_pooling_param { output_dim: 2 "
                                       "group_size: 3 pooled_size: 3 gamma: 0.1 }",
                                       ctx, with, {&y}),
               ConfigError);
  EXPECT_THROW(test::make_layer<float>("type: 'DeformRoIPooling' deformable_psroi_pooling_param "
                                       "{ pooled_size: 3 trans_std: 0.1 }",
                                       ctx, without, {&y}),
               ConfigError);
  EXPECT_THROW(test::make_layer<float>("type: 'DeformRoIPooling' deformable_psroi_pooling_param "
                                       "{ pooled_h: 3 }",
                                       ctx, without, {&y}),
               ConfigError);
}

TEST(DeformRoIPooling, ErrorsOnBadShapes) {
  Context ctx = Context::cpu(1);
  Tensor<float> x({2, 3, 5, 5}), rois({2, 5}), off({2, 2, 2, 3}), y;
  const std::string text = mmcv_text(2, 3, 1, 2, 0.1);
  EXPECT_NO_THROW(test::make_layer<float>(text, ctx, {&x, &rois, &off}, {&y}));
  EXPECT_EQ(y.shape(), (std::vector<int64_t>{2, 3, 2, 3}));
  Tensor<float> off_t({2, 2, 3, 2}), off_rows({1, 2, 2, 3}), off_c({2, 4, 2, 3});
  for (Tensor<float>* t : {&off_t, &off_rows, &off_c})
    EXPECT_THROW(test::make_layer<float>(text, ctx, {&x, &rois, t}, {&y}), ShapeError)
        << t->shape_string();
  Tensor<float> rois3({2, 5, 1});
  EXPECT_THROW(test::make_layer<float>(text, ctx, {&x, &rois3}, {&y}), ShapeError);
}

TEST(DeformablePSROIPooling, ErrorsOnBatchIndexOutOfRange) {
  for (const double bad : {2.0, -1.0, std::numeric_limits<double>::quiet_NaN()}) {
    for (const bool ps : {true, false}) {
      Context ctx = Context::cpu(1);
      Tensor<double> x({2, 4, 5, 5}), rois({2, 5}), y;
      test::fill_uniform(x, -1, 1, 37);
      fill_rois(rois, 2, 5, 5, 38);
      const TensorVec<double> bottom = {&x, &rois};
      auto layer = test::make_layer<double>(
          ps ? ps_text(1, 2, 2, 2, 2, 1.0, 0.0, true) : mmcv_text(2, 2, 1.0, 2, 0.1), ctx, bottom,
          {&y});
      EXPECT_NO_THROW(layer->forward(ctx, bottom, {&y}));
      rois.mutable_cpu_data()[5] = bad;
      EXPECT_THROW(layer->forward(ctx, bottom, {&y}), DataError) << bad << " " << ps;
    }
  }
}

TEST(DeformablePSROIPooling, PrototxtRoundTrip) {
  // Deformable-ConvNets' defaults: part_size 0 = pooled_size, sample_per_part 1, trans_std 0.
  const DeformablePSROIPoolingParameter p =
      test::parse_layer("deformable_psroi_pooling_param { output_dim: 2 }")
          .deformable_psroi_pooling_param();
  EXPECT_EQ(p.part_size(), 0u);
  EXPECT_EQ(p.sample_per_part(), 1u);
  EXPECT_EQ(p.trans_std(), 0.0f);
  EXPECT_FALSE(p.no_trans());
  EXPECT_EQ(p.spatial_scale(), 1.0f);
  EXPECT_EQ(p.sampling_ratio(), 0);
  EXPECT_FLOAT_EQ(p.gamma(), 0.1f);
}

// --- CUDA launchers against the CPU layer ---

template <class T>
std::vector<T> host(const T* p, int64_t n) {
  return std::vector<T>(p, p + n);
}

void expect_layer_gpu_matches_cpu(const std::string& text, const std::vector<int64_t>& xs,
                                  const std::vector<int64_t>& offs) {
#if CREMA_WITH_CUDA
  Context ctx = Context::cpu(1);
  Tensor<float> x(xs), rois({offs[0], 5}), off(offs), y;
  test::fill_uniform(x, -1, 1, 41);
  fill_rois(rois, xs[0], 12, 12, 42);
  test::fill_uniform(off, -1, 1, 43);
  const TensorVec<float> bottom = {&x, &rois, &off};
  auto layer = test::make_layer<float>(text, ctx, bottom, {&y});
  layer->forward(ctx, bottom, {&y});
  const auto want_y = host(y.cpu_data(), y.count());
  test::fill_uniform(y, -1, 1, 44);
  std::copy(y.cpu_data(), y.cpu_data() + y.count(), y.mutable_cpu_diff());
  layer->forward(ctx, bottom, {&y});
  layer->backward(ctx, {&y}, {true, false, true}, bottom);
  const auto* typed = dynamic_cast<DeformablePSROIPoolingLayer<float>*>(layer.get());
  ASSERT_NE(typed, nullptr);
  const kernels::DeformRoIPoolArgs<float> a = typed->kernel_args();
  testing::DeviceBuffer<float> dx_in(host(x.cpu_data(), x.count())),
      drois(host(rois.cpu_data(), rois.count())), doff_in(host(off.cpu_data(), off.count())),
      ddy(host(y.cpu_diff(), y.count())), dout(y.count()), ddx(x.count()), ddoff(off.count());
  const int64_t n_off = a.num_rois * a.num_classes * a.part_h * a.part_w;
  cuda::launch_deform_psroi_pooling_forward<float>(nullptr, y.count(), a, dx_in.get(), drois.get(),
                                                   doff_in.get(), dout.get());
  cuda::launch_deform_psroi_pooling_backward_data<float>(nullptr, y.count(), a, drois.get(),
                                                         doff_in.get(), ddy.get(), ddx.get());
  cuda::launch_deform_psroi_pooling_backward_offset<float>(
      nullptr, n_off, a, dx_in.get(), drois.get(), doff_in.get(), ddy.get(), ddoff.get());
  const auto gy = dout.to_host(), gdx = ddx.to_host(), gdoff = ddoff.to_host();
  // GATHER passes: bitwise up to FMA contraction, which nvcc may apply; 1e-5 relative.
  test::expect_near(gy.data(), want_y.data(), y.count(), 1e-5, "gpu y");
  test::expect_near(gdoff.data(), off.cpu_diff(), off.count(), 1e-4, "gpu doffset");
  // SCATTER pass: atomics in any order.
  test::expect_near(gdx.data(), x.cpu_diff(), x.count(), 1e-5, "gpu dx");
#endif
}

TEST(GpuDeformablePSROIPooling, LaunchersMatchCpu) {
  CREMA_REQUIRE_GPU();
  expect_layer_gpu_matches_cpu(ps_text(4, 3, 3, 3, 2, 0.5, 0.1), {2, 36, 6, 6}, {16, 4, 3, 3});
}

TEST(GpuDeformRoIPooling, LaunchersMatchCpu) {
  CREMA_REQUIRE_GPU();
  expect_layer_gpu_matches_cpu(mmcv_text(3, 3, 0.5, 0, 0.1), {2, 2, 6, 6}, {32, 2, 3, 3});
}

// GPU path vs CPU path of `text` on features xs, random RoIs and offsets offs (none when
// offs is empty), with and without the offset gradient. Forward and the offset gradient are
// GATHER, the feature gradient SCATTER (atomics, order-dependent sums), and the bilinear weights
// are multiply-adds nvcc fuses: 1e-5 relative.
void expect_layer_gpu_matches_cpu(const std::string& text, const std::vector<int64_t>& xs,
                                  const std::vector<int64_t>& offs, int64_t num_rois, double img_h,
                                  double img_w) {
  SCOPED_TRACE(text);
  Tensor<float> x(xs), rois({num_rois, 5}), off;
  test::fill_uniform(x, -1, 1, 41);
  fill_rois(rois, xs[0], img_h, img_w, 42);
  std::vector<const Tensor<float>*> inputs{&x, &rois};
  if (!offs.empty()) {
    off.reshape(offs);
    test::fill_uniform(off, -1, 1, 43);
    inputs.push_back(&off);
  }
  std::vector<std::vector<bool>> downs{{true, false}};
  if (!offs.empty()) downs = {{true, false, true}, {false, false, true}};
  for (const auto& down : downs)
    test::expect_gpu_matches_cpu_multi<float>(text, inputs, down, test::kGpuMathTol);
}

TEST(GpuDeformablePSROIPooling, LayerMatchesCpu) {
  CREMA_REQUIRE_GPU();
  expect_layer_gpu_matches_cpu(ps_text(4, 3, 3, 3, 2, 0.5, 0.1), {2, 36, 6, 6}, {16, 4, 3, 3}, 16,
                               12, 12);
  expect_layer_gpu_matches_cpu(ps_text(4, 2, 3, 2, 3, 1.0, 0.2), {2, 16, 7, 5}, {10, 8, 2, 2}, 10,
                               7, 5);
  expect_layer_gpu_matches_cpu(ps_text(2, 3, 3, 3, 2, 0.5, 0.1, true), {2, 18, 6, 6}, {}, 12, 12,
                               12);
  // A batch index outside the batch is the CPU path's DataError on the GPU too.
  Context gpu = Context::gpu(0, 1);
  Tensor<float> x({2, 18, 6, 6}), rois({1, 5}), y;
  rois.mutable_cpu_data()[0] = 2;
  auto layer =
      test::make_layer<float>(ps_text(2, 3, 3, 3, 2, 0.5, 0.1, true), gpu, {&x, &rois}, {&y});
  EXPECT_THROW(layer->forward(gpu, {&x, &rois}, {&y}), DataError);
}

TEST(GpuDeformRoIPooling, LayerMatchesCpu) {
  CREMA_REQUIRE_GPU();
  expect_layer_gpu_matches_cpu(mmcv_text(3, 3, 0.5, 0, 0.1), {2, 2, 6, 6}, {32, 2, 3, 3}, 32, 12,
                               12);
  expect_layer_gpu_matches_cpu(mmcv_text(2, 3, 0.5, 2, 0.1), {2, 3, 6, 7}, {8, 2, 2, 3}, 8, 12, 14);
  expect_layer_gpu_matches_cpu(mmcv_text(2, 2, 1.0, 0, 0.3), {2, 3, 5, 6}, {}, 8, 5, 6);
}

}  // namespace
}  // namespace crema
