#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "tests/gpu_compare.h"
#include "tests/reference/argmax_ref.h"
#include "tests/test_util.h"

namespace crema {
namespace {

std::string argmax_text(const std::string& param) {
  return "name: 'argmax' type: 'ArgMax' argmax_param { " + param + " }";
}

template <class T>
std::vector<double> to_vec(const Tensor<T>& t) {
  return std::vector<double>(t.cpu_data(), t.cpu_data() + t.count());
}

/// Values drawn from a few levels, so ties are common.
template <class T>
void fill_with_ties(Tensor<T>& t, uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::uniform_int_distribution<int> level(-3, 3);
  for (int64_t i = 0; i < t.count(); ++i) t.mutable_cpu_data()[i] = static_cast<T>(level(gen));
}

struct Case {
  std::vector<int64_t> shape;
  int axis;  // as written; kNoAxis for none
  int canonical;
  int top_k;
  bool out_max_val;
};
constexpr int kNoAxis = 100;

template <class T>
void check_case(const Case& c, bool ties) {
  std::string param = "top_k: " + std::to_string(c.top_k);
  if (c.out_max_val) param += " out_max_val: true";
  if (c.axis != kNoAxis) param += " axis: " + std::to_string(c.axis);
  SCOPED_TRACE(param + " on " + shape_string(c.shape) + (ties ? " with ties" : ""));
  Context ctx = Context::cpu(1);
  Tensor<T> x(c.shape), y;
  if (ties)
    fill_with_ties(x, 3);
  else
    test::fill_uniform(x, -1, 1, 4);
  auto layer = test::make_layer<T>(argmax_text(param), ctx, {&x}, {&y});
  layer->forward(ctx, {&x}, {&y});
  const auto want =
      ref::argmax(to_vec(x), c.shape, c.axis == kNoAxis ? -1 : c.canonical, c.top_k, c.out_max_val);
  ASSERT_EQ(y.shape(), want.shape);
  const std::vector<T> w(want.y.begin(), want.y.end());
  test::expect_near(y.cpu_data(), w.data(), y.count(), 0.0, "argmax y");
}

TEST(ArgMax, ForwardMatchesReference) {
  const std::vector<Case> cases = {
      {{4, 5}, kNoAxis, 0, 1, false},       {{4, 5}, kNoAxis, 0, 3, true},
      {{2, 3, 2, 2}, kNoAxis, 0, 4, false}, {{2, 3, 2, 2}, kNoAxis, 0, 12, true},
      {{2, 5, 3}, 1, 1, 1, false},          {{2, 5, 3}, 1, 1, 3, true},
      {{4, 3, 2}, 0, 0, 2, false},          {{2, 3, 6}, -1, 2, 4, true},
      {{2, 3, 6}, 2, 2, 6, false},
  };
  for (const Case& c : cases) {
    for (bool ties : {false, true}) {
      check_case<float>(c, ties);
      check_case<double>(c, ties);
    }
  }
}

TEST(ArgMax, TiesGoToTheLargerIndex) {
  Context ctx = Context::cpu(1);
  Tensor<double> x({1, 4}), y;
  const double v[] = {2, 5, 5, 1};
  std::copy(v, v + 4, x.mutable_cpu_data());
  auto layer = test::make_layer<double>(argmax_text("top_k: 3 out_max_val: true"), ctx, {&x}, {&y});
  layer->forward(ctx, {&x}, {&y});
  ASSERT_EQ(y.shape(), (std::vector<int64_t>{1, 2, 3}));
  const double want[] = {2, 1, 0, 5, 5, 2};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(y.cpu_data()[i], want[i]) << i;
}

TEST(ArgMax, ThreadsBitwiseIdentical) {
  std::vector<std::vector<float>> out;
  for (int threads : {1, 2}) {
    Context ctx = Context::cpu(threads);
    Tensor<float> x({4, 6, 16, 16}), y;
    fill_with_ties(x, 9);
    auto layer = test::make_layer<float>(argmax_text("axis: 1 top_k: 2"), ctx, {&x}, {&y});
    layer->forward(ctx, {&x}, {&y});
    out.emplace_back(y.cpu_data(), y.cpu_data() + y.count());
  }
  EXPECT_TRUE(out[0] == out[1]);
}

TEST(ArgMax, NoGradient) {
  Context ctx = Context::cpu(1);
  Tensor<float> x({2, 3}), y;
  auto layer = test::make_layer<float>(argmax_text(""), ctx, {&x}, {&y});
  EXPECT_FALSE(layer->allow_force_backward(0));
  layer->forward(ctx, {&x}, {&y});
  EXPECT_NO_THROW(layer->backward(ctx, {&y}, {false}, {&x}));
  EXPECT_THROW(layer->backward(ctx, {&y}, {true}, {&x}), ConfigError);
}

TEST(ArgMax, Errors) {
  Context ctx = Context::cpu(1);
  Tensor<float> x({2, 3, 4}), y;
  auto make = [&](const std::string& p) {
    return test::make_layer<float>(argmax_text(p), ctx, {&x}, {&y});
  };
  EXPECT_NO_THROW(make("top_k: 12"));
  EXPECT_THROW(make("top_k: 0"), ConfigError);
  EXPECT_THROW(make("top_k: 13"), ShapeError);
  EXPECT_THROW(make("axis: 1 top_k: 4"), ShapeError);
  EXPECT_THROW(make("axis: 3"), ShapeError);
  EXPECT_THROW(make("axis: -4"), ShapeError);
  EXPECT_THROW(test::make_layer<float>(argmax_text(""), ctx, {&x}, {&x}), ConfigError);
  try {
    make("axis: 2 top_k: 5");
    ADD_FAILURE() << "expected ShapeError";
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("2x3x4"), std::string::npos) << e.what();
  }
}

// Every layout of the top (with and without an axis, indices or values), top_k 1 and more,
// with and without ties; forward only, as ArgMax has no gradient.
template <class T>
void check_gpu_case(const Case& c, bool ties) {
  std::string param = "top_k: " + std::to_string(c.top_k);
  if (c.out_max_val) param += " out_max_val: true";
  if (c.axis != kNoAxis) param += " axis: " + std::to_string(c.axis);
  SCOPED_TRACE(param + " on " + shape_string(c.shape) + (ties ? " with ties" : ""));
  test::BottomFill<T> fill;
  if (ties) fill = [](size_t, Tensor<T>& t, uint64_t seed) { fill_with_ties(t, seed); };
  // A select: both devices pick the same entries and copy them (or their index) unchanged.
  test::expect_gpu_matches_cpu<T>(argmax_text(param), {c.shape}, {.tol = 0, .backward = false},
                                  fill);
}

TEST(GpuArgMax, MatchesCpu) {
  CREMA_REQUIRE_GPU();
  const std::vector<Case> cases = {
      {{4, 5}, kNoAxis, 0, 1, false},
      {{4, 5}, kNoAxis, 0, 3, true},
      {{2, 3, 2, 2}, kNoAxis, 0, 12, false},
      {{3, 5, 4}, 1, 1, 1, false},
      {{3, 5, 4}, 1, 1, 3, true},
      {{4, 3, 2}, 0, 0, 2, false},
      {{2, 3, 6}, -1, 2, 4, true},
      {{2, 6, 17, 19}, 1, 1, 2, false},
  };
  for (const Case& c : cases) {
    for (bool ties : {false, true}) {
      check_gpu_case<float>(c, ties);
      check_gpu_case<double>(c, ties);
    }
  }
}

TEST(GpuArgMax, NoGradient) {
  CREMA_REQUIRE_GPU();
  Context gpu = Context::gpu(0, 1);
  Tensor<float> x({2, 3}), y;
  auto layer = test::make_layer<float>(argmax_text(""), gpu, {&x}, {&y});
  layer->forward(gpu, {&x}, {&y});
  EXPECT_NO_THROW(layer->backward(gpu, {&y}, {false}, {&x}));
  EXPECT_THROW(layer->backward(gpu, {&y}, {true}, {&x}), ConfigError);
}

}  // namespace
}  // namespace crema
