#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "tests/gpu_compare.h"
#include "tests/layer_checks.h"
#include "tests/reference/bnll_ref.h"
#include "tests/test_util.h"

namespace crema {
namespace {

const char* kBnll = "name: 'bnll' type: 'BNLL'";

template <class T>
void check_against_reference(double tol) {
  Context ctx = Context::cpu(1);
  Tensor<T> x({2, 3, 4, 5});
  test::fill_uniform(x, -8, 8, 11);
  // Extremes: exp(100) overflows float, exp(-100) underflows relative to 1.
  const T extremes[] = {T(100), T(-100), T(0), T(40), T(-40), T(1e-6)};
  for (int k = 0; k < 6; ++k) x.mutable_cpu_data()[k] = extremes[k];
  const auto got = test::forward_backward<T>(kBnll, ctx, x, false);
  const auto dy = test::random_values<T>(x.count(), 99);
  const auto want_y = ref::bnll_forward(x.cpu_data(), x.count());
  const auto want_dx = ref::bnll_backward(x.cpu_data(), dy.data(), x.count());
  for (int64_t i = 0; i < x.count(); ++i) {
    ASSERT_TRUE(std::isfinite(got.y[i])) << i;
    // Relative to the value itself: tiny outputs must keep their precision (down to the
    // spacing of denormals, which y = exp(-100) is in float).
    const double denorm = 2.0 * std::numeric_limits<T>::denorm_min();
    EXPECT_NEAR(got.y[i], want_y[i], tol * std::fabs(want_y[i]) + denorm) << "y[" << i << "]";
    EXPECT_NEAR(got.dx[i], want_dx[i], tol * std::fabs(want_dx[i]) + tol * 1e-3)
        << "dx[" << i << "]";
  }
}

TEST(BNLL, ForwardBackwardMatchReference) {
  check_against_reference<float>(2e-6);
  check_against_reference<double>(1e-12);
}

TEST(BNLL, GradientDouble) {
  Context ctx = Context::cpu(1);
  Tensor<double> x({2, 3, 3, 2}), y;
  test::fill_uniform(x, -4, 4, 3);
  auto layer = test::make_layer<double>(kBnll, ctx, {&x}, {&y});
  test::check_gradient<double>(*layer, ctx, {&x}, {&y});
}

TEST(BNLL, InPlaceEqualsOutOfPlace) {
  Tensor<float> x({3, 4, 5});
  test::fill_uniform(x, -10, 10, 5);
  test::expect_in_place_matches(kBnll, x);
}

TEST(BNLL, ThreadCountDoesNotChangeResults) {
  Tensor<float> x({4, 8, 16, 16});
  test::fill_uniform(x, -5, 5, 9);
  test::expect_thread_invariant(kBnll, x);
}

TEST(BNLL, Errors) {
  Context ctx = Context::cpu(1);
  Tensor<float> x({2, 3}), y, z({2, 3});
  EXPECT_THROW(test::make_layer<float>(kBnll, ctx, {&x, &z}, {&y}), ConfigError);
  EXPECT_THROW(test::make_layer<float>(kBnll, ctx, {&x}, {}), ConfigError);
}

// The layer's GPU path against its CPU path, forward and backward, separate top and in-place;
// tolerance: device exp/log1p/expm1 (tests/gpu_compare.h).
TEST(GpuBNLL, LayerMatchesCpu) {
  CREMA_REQUIRE_GPU();
  Tensor<float> x({2, 3, 8, 8});
  test::fill_uniform(x, -20, 20, 61);
  for (bool in_place : {false, true})
    test::expect_gpu_matches_cpu(kBnll, x, in_place, test::kGpuMathTol);
}

}  // namespace
}  // namespace crema
