#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/gpu_compare.h"
#include "tests/layer_checks.h"
#include "tests/reference/exp_ref.h"
#include "tests/test_util.h"

namespace crema {
namespace {

struct ExpCase {
  double base, scale, shift;
};

std::string exp_text(const ExpCase& c) {
  return "name: 'exp' type: 'Exp' exp_param { base: " + std::to_string(c.base) +
         " scale: " + std::to_string(c.scale) + " shift: " + std::to_string(c.shift) + " }";
}

const std::vector<ExpCase> kCases = {
    {-1, 1, 0},     {2, 0.5, 1},     {10, -0.3, -1},
    {0.5, 2, 0.25}, {-1, -1.5, 0.5}, {1, 3, 2},  // base 1: constant 1
};

template <class T>
void check_against_reference(const ExpCase& c, double tol) {
  Context ctx = Context::cpu(1);
  Tensor<T> x({2, 3, 4, 5});
  test::fill_uniform(x, -2, 2, 11);
  const auto got = test::forward_backward(exp_text(c), ctx, x, false);
  ASSERT_EQ(got.top_shape, x.shape());
  const auto dy = test::random_values<T>(x.count(), 99);
  const auto want_y = ref::exp_forward(x.cpu_data(), x.count(), test::f32(c.base),
                                       test::f32(c.scale), test::f32(c.shift));
  const auto want_dx = ref::exp_backward(x.cpu_data(), dy.data(), x.count(), test::f32(c.base),
                                         test::f32(c.scale), test::f32(c.shift));
  test::expect_near_ref(got.y.data(), want_y.data(), x.count(), tol, "exp y");
  test::expect_near_ref(got.dx.data(), want_dx.data(), x.count(), tol, "exp dx");
}

TEST(Exp, ForwardBackwardMatchReference) {
  for (const auto& c : kCases) {
    SCOPED_TRACE(exp_text(c));
    check_against_reference<float>(c, 2e-6);
    check_against_reference<double>(c, 1e-12);
  }
}

TEST(Exp, DefaultIsNaturalExp) {
  Context ctx = Context::cpu(1);
  Tensor<double> x({3});
  x.mutable_cpu_data()[0] = 0;
  x.mutable_cpu_data()[1] = 1;
  x.mutable_cpu_data()[2] = -2;
  const auto got = test::forward_backward<double>("name: 'e' type: 'Exp'", ctx, x, false);
  EXPECT_EQ(got.y[0], 1.0);
  EXPECT_DOUBLE_EQ(got.y[1], std::exp(1.0));
  EXPECT_DOUBLE_EQ(got.y[2], std::exp(-2.0));
}

TEST(Exp, GradientDouble) {
  for (const auto& c : kCases) {
    SCOPED_TRACE(exp_text(c));
    Context ctx = Context::cpu(1);
    Tensor<double> x({2, 3, 2, 2}), y;
    test::fill_uniform(x, -1, 1, 3);
    auto layer = test::make_layer<double>(exp_text(c), ctx, {&x}, {&y});
    test::check_gradient<double>(*layer, ctx, {&x}, {&y});
  }
}

TEST(Exp, InPlaceEqualsOutOfPlace) {
  Tensor<float> x({3, 4, 5});
  test::fill_uniform(x, -2, 2, 5);
  for (const auto& c : kCases) {
    SCOPED_TRACE(exp_text(c));
    test::expect_in_place_matches(exp_text(c), x);
  }
}

TEST(Exp, ThreadCountDoesNotChangeResults) {
  Tensor<float> x({4, 8, 16, 16});
  test::fill_uniform(x, -2, 2, 9);
  test::expect_thread_invariant(exp_text({2, 0.5, 1}), x);
}

TEST(Exp, Errors) {
  Context ctx = Context::cpu(1);
  Tensor<float> x({2, 3}), y;
  // Only base > 0, or -1 for e.
  EXPECT_THROW(test::make_layer<float>(exp_text({0, 1, 0}), ctx, {&x}, {&y}), ConfigError);
  EXPECT_THROW(test::make_layer<float>(exp_text({-2, 1, 0}), ctx, {&x}, {&y}), ConfigError);
  // base^shift overflows.
  EXPECT_THROW(test::make_layer<float>(exp_text({10, 1, 400}), ctx, {&x}, {&y}), ConfigError);
  EXPECT_THROW(test::make_layer<float>(exp_text({-1, 1, 0}), ctx, {&x}, {}), ConfigError);
}

// The layer's GPU path against its CPU path, forward and backward, on every case, separate top
// and in-place; tolerance: device exp (tests/gpu_compare.h).
TEST(GpuExp, LayerMatchesCpu) {
  CREMA_REQUIRE_GPU();
  Tensor<float> x({2, 3, 8, 8});
  test::fill_uniform(x, -2, 2, 61);
  for (const ExpCase& c : kCases) {
    SCOPED_TRACE(exp_text(c));
    for (bool in_place : {false, true})
      test::expect_gpu_matches_cpu(exp_text(c), x, in_place, test::kGpuMathTol);
  }
}

}  // namespace
}  // namespace crema
