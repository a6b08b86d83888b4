#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/gpu_compare.h"
#include "tests/layer_checks.h"
#include "tests/reference/power_ref.h"
#include "tests/test_util.h"

namespace crema {
namespace {

struct PowerCase {
  double power, scale, shift;
};

std::string power_text(const PowerCase& c) {
  return "name: 'pow' type: 'Power' power_param { power: " + std::to_string(c.power) +
         " scale: " + std::to_string(c.scale) + " shift: " + std::to_string(c.shift) + " }";
}

// Inputs in [-1, 1]; every case keeps shift + scale * x > 0 where the power is fractional or
// negative.
const std::vector<PowerCase> kCases = {
    {1, 1, 0},  {2, 0.5, 1},      {3, -1.5, 0.25}, {0.5, 2, 3},
    {-1, 1, 2}, {2.5, -0.5, 1.5}, {0, 2, 1},  // power 0: constant 1
    {2, 0, 3},                                // scale 0: constant shift^power
};

template <class T>
void check_against_reference(const PowerCase& c, double tol) {
  Context ctx = Context::cpu(1);
  Tensor<T> x({2, 3, 4, 5});
  test::fill_uniform(x, -1, 1, 11);
  const auto got = test::forward_backward(power_text(c), ctx, x, false);
  ASSERT_EQ(got.top_shape, x.shape());
  const auto dy = test::random_values<T>(x.count(), 99);
  const auto want_y = ref::power_forward(x.cpu_data(), x.count(), test::f32(c.power),
                                         test::f32(c.scale), test::f32(c.shift));
  const auto want_dx = ref::power_backward(x.cpu_data(), dy.data(), x.count(), test::f32(c.power),
                                           test::f32(c.scale), test::f32(c.shift));
  test::expect_near_ref(got.y.data(), want_y.data(), x.count(), tol, "power y");
  test::expect_near_ref(got.dx.data(), want_dx.data(), x.count(), tol, "power dx");
}

TEST(Power, ForwardBackwardMatchReference) {
  for (const auto& c : kCases) {
    SCOPED_TRACE(power_text(c));
    check_against_reference<float>(c, 2e-6);
    check_against_reference<double>(c, 1e-12);
  }
}

TEST(Power, ConstantCases) {
  Context ctx = Context::cpu(1);
  Tensor<float> x({5});
  test::fill_uniform(x, -1, 1, 1);
  for (float v : test::forward_backward(power_text({0, 2, 1}), ctx, x, false).y) EXPECT_EQ(v, 1);
  for (float v : test::forward_backward(power_text({2, 0, 3}), ctx, x, false).y) EXPECT_EQ(v, 9);
  for (float v : test::forward_backward(power_text({2, 0, 3}), ctx, x, false).dx) EXPECT_EQ(v, 0);
}

TEST(Power, GradientDouble) {
  for (const auto& c : kCases) {
    SCOPED_TRACE(power_text(c));
    Context ctx = Context::cpu(1);
    Tensor<double> x({2, 3, 2, 2}), y;
    test::fill_uniform(x, -1, 1, 3);
    auto layer = test::make_layer<double>(power_text(c), ctx, {&x}, {&y});
    test::check_gradient<double>(*layer, ctx, {&x}, {&y});
  }
}

TEST(Power, InPlaceEqualsOutOfPlace) {
  Tensor<float> x({3, 4, 5});
  test::fill_uniform(x, -1, 1, 5);
  // Only cases whose gradient does not need x may run in-place.
  for (const PowerCase& c : {PowerCase{1, 2, 0.5}, PowerCase{0, 3, 1}, PowerCase{2, 0, 3}}) {
    SCOPED_TRACE(power_text(c));
    test::expect_in_place_matches(power_text(c), x);
  }
}

TEST(Power, ThreadCountDoesNotChangeResults) {
  Tensor<float> x({4, 8, 16, 16});
  test::fill_uniform(x, -1, 1, 9);
  test::expect_thread_invariant(power_text({2.5, -0.5, 1.5}), x);
}

TEST(Power, Errors) {
  Context ctx = Context::cpu(1);
  Tensor<float> x({2, 3}), y, z({2, 3});
  EXPECT_THROW(test::make_layer<float>(power_text({2, 1, 0}), ctx, {&z}, {&z}), ConfigError);
  EXPECT_THROW(test::make_layer<float>(power_text({0.5, 1, 1}), ctx, {&z}, {&z}), ConfigError);
  EXPECT_THROW(test::make_layer<float>(power_text({1, 1, 0}), ctx, {&x, &z}, {&y}), ConfigError);
}

// The layer's GPU path against its CPU path, forward and backward, on every case, and in-place
// where the layer allows it; tolerance: device pow and fused multiply-adds
// (tests/gpu_compare.h).
TEST(GpuPower, LayerMatchesCpu) {
  CREMA_REQUIRE_GPU();
  Tensor<float> x({2, 3, 8, 8});
  test::fill_uniform(x, -1, 1, 61);
  for (const PowerCase& c : kCases) {
    SCOPED_TRACE(power_text(c));
    test::expect_gpu_matches_cpu(power_text(c), x, false, test::kGpuMathTol);
  }
  for (const PowerCase& c : {PowerCase{1, 2, 0.5}, PowerCase{0, 3, 1}, PowerCase{2, 0, 3}}) {
    SCOPED_TRACE(power_text(c));
    test::expect_gpu_matches_cpu(power_text(c), x, true, test::kGpuMathTol);
  }
}

}  // namespace
}  // namespace crema
