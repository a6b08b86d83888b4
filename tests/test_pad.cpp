#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/gpu_compare.h"
#include "tests/reference/pad_ref.h"
#include "tests/test_util.h"

namespace crema {
namespace {

struct PadCase {
  std::string param;  // pad_param body
  int64_t ph, pw;
  int mode;
  double value;
};

std::string pad_text(const std::string& param) {
  return "name: 'pad' type: 'Pad' pad_param { " + param + " }";
}

const std::vector<PadCase>& cases() {
  static const std::vector<PadCase> c = {
      {"pad: 0", 0, 0, 0, 0},
      {"pad: 1", 1, 1, 0, 0},
      {"pad: 2 value: -1.5", 2, 2, 0, -1.5},
      {"pad_h: 1 pad_w: 3 mode: CONSTANT value: 0.25", 1, 3, 0, 0.25},
      {"pad: 1 mode: REPLICATE", 1, 1, 1, 0},
      {"pad_h: 2 pad_w: 0 mode: REPLICATE", 2, 0, 1, 0},
      {"pad: 7 mode: REPLICATE", 7, 7, 1, 0},  // wider than the input
      {"pad: 1 mode: REFLECT", 1, 1, 2, 0},
      {"pad_h: 3 pad_w: 2 mode: REFLECT", 3, 2, 2, 0},  // pad = size - 1 along H
  };
  return c;
}

template <class T>
void check_against_reference(const PadCase& pc, std::vector<int64_t> shape) {
  Context ctx = Context::cpu(1);
  Tensor<T> x(shape), y;
  test::fill_uniform(x, -1, 1, 21);
  auto layer = test::make_layer<T>(pad_text(pc.param), ctx, {&x}, {&y});
  const int64_t n = shape[0], c = shape[1], h = shape[2], w = shape[3];
  ASSERT_EQ(y.shape(), (std::vector<int64_t>{n, c, h + 2 * pc.ph, w + 2 * pc.pw}));
  layer->forward(ctx, {&x}, {&y});
  const auto want = ref::pad_forward(x.cpu_data(), n, c, h, w, pc.ph, pc.pw, pc.mode, pc.value);
  test::expect_near(y.cpu_data(), std::vector<T>(want.begin(), want.end()).data(), y.count(), 0,
                    "pad y");
  test::fill_uniform(y, -1, 1, 22);
  std::vector<T> dy(y.cpu_data(), y.cpu_data() + y.count());
  layer->forward(ctx, {&x}, {&y});
  std::copy(dy.begin(), dy.end(), y.mutable_cpu_diff());
  x.set_diff(T(7));
  layer->backward(ctx, {&y}, {true}, {&x});
  const auto want_dx = ref::pad_backward(dy.data(), n, c, h, w, pc.ph, pc.pw, pc.mode);
  test::expect_near(x.cpu_diff(), std::vector<T>(want_dx.begin(), want_dx.end()).data(), x.count(),
                    1e-5, "pad dx");
}

TEST(Pad, ForwardBackwardMatchReference) {
  for (const auto& pc : cases()) {
    SCOPED_TRACE(pc.param);
    check_against_reference<float>(pc, {2, 3, 4, 5});
    check_against_reference<double>(pc, {1, 2, 4, 3});
  }
  // 1-pixel-wide inputs: replicate copies the one pixel everywhere.
  check_against_reference<double>({"pad: 2 mode: REPLICATE", 2, 2, 1, 0}, {1, 1, 1, 1});
  check_against_reference<double>({"pad_h: 1 pad_w: 0 mode: REFLECT", 1, 0, 2, 0}, {1, 2, 2, 1});
}

// Worked by hand: [[1 2 3] [4 5 6]] padded by one on each side.
TEST(Pad, HandComputedSmallCases) {
  Context ctx = Context::cpu(1);
  Tensor<float> x({1, 1, 2, 3}), y;
  for (int i = 0; i < 6; ++i) x.mutable_cpu_data()[i] = static_cast<float>(i + 1);
  const std::vector<std::pair<std::string, std::vector<float>>> want = {
      {"pad: 1 value: 9", {9, 9, 9, 9, 9, 9, 1, 2, 3, 9, 9, 4, 5, 6, 9, 9, 9, 9, 9, 9}},
      {"pad: 1 mode: REPLICATE", {1, 1, 2, 3, 3, 1, 1, 2, 3, 3, 4, 4, 5, 6, 6, 4, 4, 5, 6, 6}},
      {"pad: 1 mode: REFLECT", {5, 4, 5, 6, 5, 2, 1, 2, 3, 2, 5, 4, 5, 6, 5, 2, 1, 2, 3, 2}},
  };
  for (const auto& [param, values] : want) {
    SCOPED_TRACE(param);
    auto layer = test::make_layer<float>(pad_text(param), ctx, {&x}, {&y});
    layer->forward(ctx, {&x}, {&y});
    ASSERT_EQ(y.shape(), (std::vector<int64_t>{1, 1, 4, 5}));
    EXPECT_EQ(std::vector<float>(y.cpu_data(), y.cpu_data() + 20), values);
  }
  // Replicate backward with all-ones diffs counts the copies: corners 4, edges 2 or 1.
  auto layer = test::make_layer<float>(pad_text("pad: 1 mode: REPLICATE"), ctx, {&x}, {&y});
  layer->forward(ctx, {&x}, {&y});
  y.set_diff(1.f);
  layer->backward(ctx, {&y}, {true}, {&x});
  EXPECT_EQ(std::vector<float>(x.cpu_diff(), x.cpu_diff() + 6),
            (std::vector<float>{4, 2, 4, 4, 2, 4}));
}

TEST(Pad, GradientDouble) {
  for (const auto& pc : cases()) {
    SCOPED_TRACE(pc.param);
    Context ctx = Context::cpu(1);
    Tensor<double> x({2, 2, 4, 3}), y;
    test::fill_uniform(x, -1, 1, 5);
    auto layer = test::make_layer<double>(pad_text(pc.param), ctx, {&x}, {&y});
    test::check_gradient<double>(*layer, ctx, {&x}, {&y});
  }
}

TEST(Pad, ThreadCountDoesNotChangeResults) {
  for (const char* param :
       {"pad: 2 value: 0.5", "pad: 3 mode: REPLICATE", "pad_h: 2 pad_w: 4 mode: REFLECT"}) {
    SCOPED_TRACE(param);
    Tensor<float> x({3, 8, 17, 19});  // rows above parallel_for's serial cutoff
    test::fill_uniform(x, -1, 1, 9);
    std::vector<std::vector<float>> ys, dxs;
    for (int threads : {1, 2, 3}) {
      Context ctx = Context::cpu(threads);
      Tensor<float> y;
      auto layer = test::make_layer<float>(pad_text(param), ctx, {&x}, {&y});
      test::fill_uniform(y, -1, 1, 10);
      std::vector<float> dy(y.cpu_data(), y.cpu_data() + y.count());
      layer->forward(ctx, {&x}, {&y});
      std::copy(dy.begin(), dy.end(), y.mutable_cpu_diff());
      layer->backward(ctx, {&y}, {true}, {&x});
      ys.emplace_back(y.cpu_data(), y.cpu_data() + y.count());
      dxs.emplace_back(x.cpu_diff(), x.cpu_diff() + x.count());
    }
    EXPECT_EQ(ys[0], ys[1]);
    EXPECT_EQ(ys[0], ys[2]);
    EXPECT_EQ(dxs[0], dxs[1]);
    EXPECT_EQ(dxs[0], dxs[2]);
  }
}

TEST(Pad, ReshapeFollowsTheInput) {
  Context ctx = Context::cpu(1);
  Tensor<float> x({1, 1, 3, 3}), y;
  auto layer = test::make_layer<float>(pad_text("pad: 4 mode: REPLICATE"), ctx, {&x}, {&y});
  x.reshape({2, 1, 10, 12});
  layer->reshape(ctx, {&x}, {&y});
  EXPECT_EQ(y.shape(), (std::vector<int64_t>{2, 1, 18, 20}));
}

TEST(Pad, Errors) {
  Context ctx = Context::cpu(1);
  Tensor<float> x({1, 2, 3, 4}), y, x3({2, 3, 4}), x0({1, 1, 3, 0});
  EXPECT_THROW(test::make_layer<float>(pad_text("pad: 1 pad_h: 1 pad_w: 1"), ctx, {&x}, {&y}),
               ConfigError);
  EXPECT_THROW(test::make_layer<float>(pad_text("pad_h: 1"), ctx, {&x}, {&y}), ConfigError);
  EXPECT_THROW(test::make_layer<float>(pad_text("mode: REPLICATE"), ctx, {&x}, {&y}), ConfigError);
  EXPECT_THROW(
      test::make_layer<float>(pad_text("pad: 1 mode: REPLICATE value: 2"), ctx, {&x}, {&y}),
      ConfigError);
  EXPECT_THROW(test::make_layer<float>(pad_text("pad: 1"), ctx, {&x}, {&x}), ConfigError);
  // REFLECT needs pad < size: H is 3.
  EXPECT_THROW(test::make_layer<float>(pad_text("pad: 3 mode: REFLECT"), ctx, {&x}, {&y}),
               ShapeError);
  EXPECT_THROW(
      test::make_layer<float>(pad_text("pad_h: 1 pad_w: 4 mode: REFLECT"), ctx, {&x}, {&y}),
      ShapeError);
  EXPECT_NO_THROW(
      test::make_layer<float>(pad_text("pad_h: 2 pad_w: 3 mode: REFLECT"), ctx, {&x}, {&y}));
  EXPECT_THROW(test::make_layer<float>(pad_text("pad: 1"), ctx, {&x3}, {&y}), ShapeError);
  EXPECT_THROW(test::make_layer<float>(pad_text("pad: 1 mode: REPLICATE"), ctx, {&x0}, {&y}),
               ShapeError);
  EXPECT_THROW(test::make_layer<float>(pad_text("pad: 1"), ctx, {&x, &x}, {&y}), ConfigError);
  EXPECT_THROW(test::parse_layer(pad_text("pad: 1 mode: WRAP")), std::runtime_error);
}

TEST(GpuPad, MatchesCpu) {
  CREMA_REQUIRE_GPU();
  // Forward copies (or writes the constant); backward adds the copies' diffs in the same fixed
  // order on both devices: bitwise.
  for (const auto& pc : cases()) {
    SCOPED_TRACE(pc.param);
    test::expect_gpu_matches_cpu<float>(pad_text(pc.param), {{2, 3, 4, 5}}, {.tol = 0});
    test::expect_gpu_matches_cpu<double>(pad_text(pc.param), {{1, 2, 4, 3}}, {.tol = 0});
  }
  test::expect_gpu_matches_cpu<double>(pad_text("pad: 2 mode: REPLICATE"), {{1, 1, 1, 1}},
                                       {.tol = 0});
  test::expect_gpu_matches_cpu<float>(pad_text("pad_h: 2 pad_w: 4 mode: REFLECT"), {{3, 8, 17, 19}},
                                      {.tol = 0});
}

}  // namespace
}  // namespace crema
