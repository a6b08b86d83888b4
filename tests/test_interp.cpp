#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "tests/gpu_compare.h"
#include "tests/layer_checks.h"
#include "tests/reference/interp_ref.h"
#include "tests/test_util.h"

namespace crema {
namespace {

std::string interp_text(const std::string& params) {
  return "name: 'interp' type: 'Interp' interp_param { " + params + " }";
}

struct InterpCase {
  std::string params;
  std::vector<int64_t> shape;  // bottom
  int64_t crop;                // -pad_beg
  int64_t eff_h, eff_w;        // after cropping
  int64_t out_h, out_w;        // expected output size
};

std::vector<InterpCase> interp_cases() {
  return {
      {"zoom_factor: 2", {2, 3, 4, 5}, 0, 4, 5, 7, 9},
      {"shrink_factor: 2", {1, 2, 7, 6}, 0, 7, 6, 4, 3},
      {"height: 5 width: 3", {1, 2, 3, 7}, 0, 3, 7, 5, 3},
      {"height: 6 width: 11", {1, 2, 4, 4}, 0, 4, 4, 6, 11},
      // shrink first, then zoom: (4 / 2) * 3 + 1 and (6 / 2) * 3 + 1.
      {"zoom_factor: 3 shrink_factor: 2", {1, 2, 5, 7}, 0, 5, 7, 7, 10},
      {"zoom_factor: 2 pad_beg: -1 pad_end: -1", {1, 2, 6, 5}, 1, 4, 3, 7, 5},
      {"shrink_factor: 3 pad_end: -2", {1, 2, 9, 8}, 0, 7, 6, 3, 2},
      {"height: 1 width: 1", {1, 3, 4, 4}, 0, 4, 4, 1, 1},
      {"height: 9 width: 2", {1, 1, 1, 3}, 0, 1, 3, 9, 2},
      {"height: 4 width: 5 pad_beg: -1 pad_end: 0", {1, 2, 5, 6}, 1, 4, 5, 4, 5},  // pure crop
  };
}

template <class T>
void check_against_reference(const InterpCase& c, double tol) {
  Context ctx = Context::cpu(1);
  Tensor<T> x(c.shape);
  test::fill_uniform(x, -1, 1, 11);
  const auto got = test::forward_backward(interp_text(c.params), ctx, x, false);
  ASSERT_EQ(got.top_shape, (std::vector<int64_t>{c.shape[0], c.shape[1], c.out_h, c.out_w}));
  const auto dy = test::random_values<T>(c.shape[0] * c.shape[1] * c.out_h * c.out_w, 99);
  const ref::InterpGeom g{c.shape[2], c.shape[3], c.crop, c.eff_h, c.eff_w, c.out_h, c.out_w};
  const auto want = ref::interp(x.cpu_data(), dy.data(), c.shape[0] * c.shape[1], g);
  test::expect_near_ref(got.y.data(), want.y.data(), got.y.size(), tol, "interp y");
  test::expect_near_ref(got.dx.data(), want.dx.data(), x.count(), tol, "interp dx");
}

TEST(Interp, ForwardBackwardMatchReference) {
  for (const auto& c : interp_cases()) {
    SCOPED_TRACE(c.params);
    check_against_reference<float>(c, 2e-6);
    check_against_reference<double>(c, 1e-13);
  }
}

// Align-corners: zoom 2 puts output 2k on input k and output 2k + 1 halfway, so a linear ramp
// comes out as the same ramp sampled at half steps, exactly.
TEST(Interp, ZoomReproducesLinearRampExactly) {
  Context ctx = Context::cpu(1);
  Tensor<float> x({1, 2, 5, 6});
  for (int c = 0; c < 2; ++c)
    for (int h = 0; h < 5; ++h)
      for (int w = 0; w < 6; ++w) x.mutable_cpu_data()[(c * 5 + h) * 6 + w] = 3.f * h - 2.f * w + c;
  const auto y = test::forward_backward<float>(interp_text("zoom_factor: 2"), ctx, x, false).y;
  ASSERT_EQ(y.size(), 2u * 9 * 11);
  for (int c = 0; c < 2; ++c)
    for (int oh = 0; oh < 9; ++oh)
      for (int ow = 0; ow < 11; ++ow)
        EXPECT_EQ(y[(c * 9 + oh) * 11 + ow], 1.5f * oh - 1.f * ow + c) << oh << "," << ow;
}

// Any size: output o samples o * (in - 1) / (out - 1), so the ramp's corners are kept and the
// values in between lie on the ramp.
TEST(Interp, ResizeKeepsRampCorners) {
  Context ctx = Context::cpu(1);
  Tensor<double> x({1, 1, 4, 7});
  for (int h = 0; h < 4; ++h)
    for (int w = 0; w < 7; ++w) x.mutable_cpu_data()[h * 7 + w] = 2.0 * h + 0.5 * w;
  const auto y = test::forward_backward<double>(interp_text("height: 9 width: 5"), ctx, x, false).y;
  for (int oh = 0; oh < 9; ++oh)
    for (int ow = 0; ow < 5; ++ow)
      EXPECT_NEAR(y[oh * 5 + ow], 2.0 * oh * 3 / 8 + 0.5 * ow * 6 / 4, 1e-13);
  EXPECT_EQ(y[0], 0.0);
  EXPECT_EQ(y[44], 2.0 * 3 + 0.5 * 6);
}

TEST(Interp, SizeFromSecondBottom) {
  Context ctx = Context::cpu(1);
  Tensor<double> x({2, 3, 4, 5}), like({1, 1, 6, 8}), y, want;
  test::fill_uniform(x, -1, 1, 4);
  test::fill_uniform(like, -1, 1, 5);
  auto layer = test::make_layer<double>("name: 'i' type: 'Interp'", ctx, {&x, &like}, {&y});
  EXPECT_FALSE(layer->allow_force_backward(1));
  ASSERT_EQ(y.shape(), (std::vector<int64_t>{2, 3, 6, 8}));
  layer->forward(ctx, {&x, &like}, {&y});
  auto explicit_size =
      test::make_layer<double>(interp_text("height: 6 width: 8"), ctx, {&x}, {&want});
  explicit_size->forward(ctx, {&x}, {&want});
  EXPECT_EQ(0, std::memcmp(y.cpu_data(), want.cpu_data(), sizeof(double) * y.count()));
  // The size follows the second bottom on every reshape.
  like.reshape({1, 1, 3, 2});
  layer->forward(ctx, {&x, &like}, {&y});
  EXPECT_EQ(y.shape(), (std::vector<int64_t>{2, 3, 3, 2}));
  // Its gradient: bottom 0 checked numerically; bottom 1 only gives a size, so zero.
  test::GradCheck opt;
  opt.bottoms = {0};
  test::check_gradient<double>(*layer, ctx, {&x, &like}, {&y}, opt);
  like.set_diff(7);
  layer->backward(ctx, {&y}, {true, true}, {&x, &like});
  for (int64_t i = 0; i < like.count(); ++i) EXPECT_EQ(like.cpu_diff()[i], 0.0);
}

TEST(Interp, GradientDouble) {
  for (const auto& c : interp_cases()) {
    SCOPED_TRACE(c.params);
    Context ctx = Context::cpu(1);
    Tensor<double> x(c.shape), y;
    test::fill_uniform(x, -1, 1, 3);
    auto layer = test::make_layer<double>(interp_text(c.params), ctx, {&x}, {&y});
    test::check_gradient<double>(*layer, ctx, {&x}, {&y});
  }
}

TEST(Interp, ThreadCountDoesNotChangeResults) {
  Tensor<float> x({2, 8, 20, 20});  // 320 input rows, 624 output rows when zoomed
  test::fill_uniform(x, -1, 1, 9);
  test::expect_thread_invariant(interp_text("zoom_factor: 2"), x);
  test::expect_thread_invariant(interp_text("height: 33 width: 7"), x);
}

TEST(Interp, Errors) {
  Context ctx = Context::cpu(1);
  Tensor<float> x({1, 2, 3, 3}), y, x3({2, 3, 3}), flat({6, 8});
  auto make = [&](const std::string& params, const TensorVec<float>& bottom,
                  const TensorVec<float>& top) {
    return test::make_layer<float>(interp_text(params), ctx, bottom, top);
  };
  EXPECT_THROW(make("zoom_factor: 0", {&x}, {&y}), ConfigError);
  EXPECT_THROW(make("zoom_factor: -2", {&x}, {&y}), ConfigError);
  EXPECT_THROW(make("shrink_factor: 0", {&x}, {&y}), ConfigError);
  EXPECT_THROW(make("zoom_factor: 0 shrink_factor: 2", {&x}, {&y}), ConfigError);
  EXPECT_THROW(make("zoom_factor: 2 pad_beg: 1", {&x}, {&y}), ConfigError);
  EXPECT_THROW(make("height: 5", {&x}, {&y}), ConfigError);
  EXPECT_THROW(make("height: 0 width: 3", {&x}, {&y}), ConfigError);
  EXPECT_THROW(make("", {&x}, {&y}), ConfigError);  // no size at all
  EXPECT_THROW(make("zoom_factor: 2", {&x}, {&x}), ConfigError);
  EXPECT_THROW(make("zoom_factor: 2", {&x, &x, &x}, {&y}), ConfigError);
  EXPECT_THROW(make("zoom_factor: 2", {&x3}, {&y}), ShapeError);
  EXPECT_THROW(make("zoom_factor: 2 pad_beg: -2 pad_end: -1", {&x}, {&y}), ShapeError);
  EXPECT_THROW(make("", {&x, &flat}, {&y}), ShapeError);
}

// nvcc fuses the blends' multiply-adds into single roundings where the host rounds twice, so
// GPU and CPU differ by a few ulp: kGpuMathTol in float, 1e-12 in double.
constexpr double kInterpDoubleTol = 1e-12;

TEST(GpuInterp, MatchesCpu) {
  CREMA_REQUIRE_GPU();
  for (const auto& c : interp_cases()) {
    SCOPED_TRACE(c.params);
    test::expect_gpu_matches_cpu<float>(interp_text(c.params), {c.shape},
                                        {.tol = test::kGpuMathTol});
    test::expect_gpu_matches_cpu<double>(interp_text(c.params), {c.shape},
                                         {.tol = kInterpDoubleTol});
  }
  // Larger planes (many rows per launch), zoomed and resized to an explicit size.
  test::expect_gpu_matches_cpu<float>(interp_text("zoom_factor: 2"), {{2, 8, 20, 20}},
                                      {.tol = test::kGpuMathTol});
  test::expect_gpu_matches_cpu<float>(interp_text("height: 33 width: 7 pad_beg: -2"),
                                      {{2, 3, 21, 17}}, {.tol = test::kGpuMathTol});
}

TEST(GpuInterp, SizeFromSecondBottomMatchesCpu) {
  CREMA_REQUIRE_GPU();
  // The second bottom only gives the size; a gradient asked of it is zero on both devices.
  for (const std::vector<bool>& down :
       {std::vector<bool>{true, false}, {true, true}, {false, true}}) {
    test::expect_gpu_matches_cpu<float>(
        "name: 'i' type: 'Interp'", {{2, 3, 4, 5}, {1, 1, 6, 8}},
        {.tol = test::kGpuMathTol, .num_tops = 1, .propagate_down = down});
  }
  test::expect_gpu_matches_cpu<double>(
      "name: 'i' type: 'Interp'", {{2, 3, 7, 5}, {1, 2, 3, 9}},
      {.tol = kInterpDoubleTol, .num_tops = 1, .propagate_down = {true, false}});
}

}  // namespace
}  // namespace crema
