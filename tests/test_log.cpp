#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/gpu_compare.h"
#include "tests/layer_checks.h"
#include "tests/reference/log_ref.h"
#include "tests/test_util.h"

namespace crema {
namespace {

struct LogCase {
  double base, scale, shift;
};

std::string log_text(const LogCase& c) {
  return "name: 'log' type: 'Log' log_param { base: " + std::to_string(c.base) +
         " scale: " + std::to_string(c.scale) + " shift: " + std::to_string(c.shift) + " }";
}

// Inputs in [0.1, 2], so shift + scale * x > 0 in every case.
const std::vector<LogCase> kCases = {
    {-1, 1, 0}, {2, 0.5, 1}, {10, 3, 0.5}, {0.5, 1, 0}, {-1, -0.4, 1},
};

template <class T>
void check_against_reference(const LogCase& c, double tol) {
  Context ctx = Context::cpu(1);
  Tensor<T> x({2, 3, 4, 5});
  test::fill_uniform(x, 0.1, 2, 11);
  const auto got = test::forward_backward(log_text(c), ctx, x, false);
  ASSERT_EQ(got.top_shape, x.shape());
  const auto dy = test::random_values<T>(x.count(), 99);
  const auto want_y = ref::log_forward(x.cpu_data(), x.count(), test::f32(c.base),
                                       test::f32(c.scale), test::f32(c.shift));
  const auto want_dx = ref::log_backward(x.cpu_data(), dy.data(), x.count(), test::f32(c.base),
                                         test::f32(c.scale), test::f32(c.shift));
  test::expect_near_ref(got.y.data(), want_y.data(), x.count(), tol, "log y");
  test::expect_near_ref(got.dx.data(), want_dx.data(), x.count(), tol, "log dx");
}

TEST(Log, ForwardBackwardMatchReference) {
  for (const auto& c : kCases) {
    SCOPED_TRACE(log_text(c));
    check_against_reference<float>(c, 2e-6);
    check_against_reference<double>(c, 1e-12);
  }
}

TEST(Log, GradientDouble) {
  for (const auto& c : kCases) {
    SCOPED_TRACE(log_text(c));
    Context ctx = Context::cpu(1);
    Tensor<double> x({2, 3, 2, 2}), y;
    test::fill_uniform(x, 0.2, 2, 3);
    auto layer = test::make_layer<double>(log_text(c), ctx, {&x}, {&y});
    test::check_gradient<double>(*layer, ctx, {&x}, {&y});
  }
}

TEST(Log, ThreadCountDoesNotChangeResults) {
  Tensor<float> x({4, 8, 16, 16});
  test::fill_uniform(x, 0.1, 2, 9);
  test::expect_thread_invariant(log_text({2, 0.5, 1}), x);
}

TEST(Log, Errors) {
  Context ctx = Context::cpu(1);
  Tensor<float> x({2, 3}), y, z({2, 3});
  // A logarithm needs a base > 0 other than 1 (or -1 for e).
  EXPECT_THROW(test::make_layer<float>(log_text({0, 1, 0}), ctx, {&x}, {&y}), ConfigError);
  EXPECT_THROW(test::make_layer<float>(log_text({-3, 1, 0}), ctx, {&x}, {&y}), ConfigError);
  EXPECT_THROW(test::make_layer<float>(log_text({1, 1, 0}), ctx, {&x}, {&y}), ConfigError);
  // Backward needs x.
  EXPECT_THROW(test::make_layer<float>(log_text({-1, 1, 0}), ctx, {&z}, {&z}), ConfigError);
  EXPECT_THROW(test::make_layer<float>(log_text({-1, 1, 0}), ctx, {&x, &z}, {&y}), ConfigError);
}

// The layer's GPU path against its CPU path, forward and backward, on every case (Log never runs
// in-place); tolerance: device log and fused multiply-adds (tests/gpu_compare.h).
TEST(GpuLog, LayerMatchesCpu) {
  CREMA_REQUIRE_GPU();
  Tensor<float> x({2, 3, 8, 8});
  test::fill_uniform(x, 0.1, 2, 61);
  for (const LogCase& c : kCases) {
    SCOPED_TRACE(log_text(c));
    test::expect_gpu_matches_cpu(log_text(c), x, false, test::kGpuMathTol);
  }
}

}  // namespace
}  // namespace crema
