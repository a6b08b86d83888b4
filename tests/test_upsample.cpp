#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/gpu_compare.h"
#include "tests/layer_checks.h"
#include "tests/reference/upsample_ref.h"
#include "tests/test_util.h"

namespace crema {
namespace {

std::string upsample_text(const std::string& params) {
  return "name: 'up' type: 'Upsample' upsample_param { " + params + " }";
}

struct UpsampleCase {
  std::string params;
  std::vector<int64_t> shape;
  int64_t sh, sw;
};

std::vector<UpsampleCase> upsample_cases() {
  return {
      {"", {2, 3, 4, 5}, 2, 2},  // default scale 2
      {"scale: 3", {1, 2, 3, 2}, 3, 3},
      {"scale_h: 3 scale_w: 1", {2, 2, 2, 3}, 3, 1},
      {"scale: 2 scale_w: 4", {1, 3, 3, 2}, 2, 4},  // scale_w overrides one axis
      {"scale: 1", {1, 2, 3, 3}, 1, 1},
  };
}

template <class T>
void check_against_reference(const UpsampleCase& c) {
  Context ctx = Context::cpu(1);
  Tensor<T> x(c.shape);
  test::fill_uniform(x, -1, 1, 11);
  const auto got = test::forward_backward(upsample_text(c.params), ctx, x, false);
  const int64_t H = c.shape[2], W = c.shape[3];
  ASSERT_EQ(got.top_shape, (std::vector<int64_t>{c.shape[0], c.shape[1], H * c.sh, W * c.sw}));
  const auto dy = test::random_values<T>(static_cast<int64_t>(got.y.size()), 99);
  const auto want =
      ref::upsample(x.cpu_data(), dy.data(), c.shape[0] * c.shape[1], H, W, c.sh, c.sw);
  test::expect_near_ref(got.y.data(), want.y.data(), got.y.size(), 0, "upsample y");
  test::expect_near_ref(got.dx.data(), want.dx.data(), x.count(), sizeof(T) == 4 ? 1e-6 : 1e-14,
                        "upsample dx");
}

TEST(Upsample, ForwardBackwardMatchReference) {
  for (const auto& c : upsample_cases()) {
    SCOPED_TRACE(c.params);
    check_against_reference<float>(c);
    check_against_reference<double>(c);
  }
}

TEST(Upsample, GradientDouble) {
  for (const auto& c : upsample_cases()) {
    SCOPED_TRACE(c.params);
    Context ctx = Context::cpu(1);
    Tensor<double> x(c.shape), y;
    test::fill_uniform(x, -1, 1, 3);
    auto layer = test::make_layer<double>(upsample_text(c.params), ctx, {&x}, {&y});
    test::check_gradient<double>(*layer, ctx, {&x}, {&y});
  }
}

TEST(Upsample, ThreadCountDoesNotChangeResults) {
  Tensor<float> x({4, 8, 16, 16});
  test::fill_uniform(x, -1, 1, 9);
  test::expect_thread_invariant(upsample_text("scale_h: 2 scale_w: 3"), x);
}

TEST(Upsample, Errors) {
  Context ctx = Context::cpu(1);
  Tensor<float> x({1, 2, 3, 3}), y, x3({2, 3, 3});
  auto make = [&](const std::string& params, const TensorVec<float>& bottom,
                  const TensorVec<float>& top) {
    return test::make_layer<float>(upsample_text(params), ctx, bottom, top);
  };
  EXPECT_THROW(make("scale: 0", {&x}, {&y}), ConfigError);
  EXPECT_THROW(make("scale_h: 0", {&x}, {&y}), ConfigError);
  EXPECT_THROW(make("scale: 2 scale_w: 0", {&x}, {&y}), ConfigError);
  EXPECT_THROW(make("", {&x}, {&x}), ConfigError);
  EXPECT_THROW(make("", {&x, &x}, {&y}), ConfigError);
  EXPECT_THROW(make("", {&x3}, {&y}), ShapeError);
}

TEST(GpuUpsample, MatchesCpu) {
  CREMA_REQUIRE_GPU();
  // Forward copies; backward adds each block row-major on both devices: bitwise.
  for (const auto& c : upsample_cases()) {
    SCOPED_TRACE(c.params);
    test::expect_gpu_matches_cpu<float>(upsample_text(c.params), {c.shape}, {.tol = 0});
    test::expect_gpu_matches_cpu<double>(upsample_text(c.params), {c.shape}, {.tol = 0});
  }
  test::expect_gpu_matches_cpu<float>(upsample_text("scale_h: 2 scale_w: 3"), {{2, 16, 21, 13}},
                                      {.tol = 0});
}

}  // namespace
}  // namespace crema
