#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "tests/gpu_compare.h"
#include "tests/layer_checks.h"
#include "tests/reference/elu_ref.h"
#include "tests/test_util.h"

namespace crema {
namespace {

std::string elu_text(double alpha) {
  return "name: 'elu' type: 'ELU' elu_param { alpha: " + std::to_string(alpha) + " }";
}

template <class T>
void check_against_reference(double alpha, double tol) {
  Context ctx = Context::cpu(1);
  Tensor<T> x({2, 3, 4, 5});
  test::fill_away_from_zero(x, 0.01, 3.0, 11);
  const auto got = test::forward_backward(elu_text(alpha), ctx, x, false);
  ASSERT_EQ(got.top_shape, x.shape());
  const auto dy = test::random_values<T>(x.count(), 99);
  const auto want_y = ref::elu_forward(x.cpu_data(), x.count(), test::f32(alpha));
  const auto want_dx = ref::elu_backward(x.cpu_data(), dy.data(), x.count(), test::f32(alpha));
  test::expect_near_ref(got.y.data(), want_y.data(), x.count(), tol, "elu y");
  test::expect_near_ref(got.dx.data(), want_dx.data(), x.count(), tol, "elu dx");
}

TEST(ELU, ForwardBackwardMatchReference) {
  for (double alpha : {1.0, 0.5, 2.0, 0.0, -0.7}) {
    SCOPED_TRACE(alpha);
    check_against_reference<float>(alpha, 1e-6);
    check_against_reference<double>(alpha, 1e-12);
  }
}

TEST(ELU, DefaultAlphaIsOne) {
  Context ctx = Context::cpu(1);
  Tensor<float> x({4});
  x.mutable_cpu_data()[0] = -1;
  x.mutable_cpu_data()[1] = 2;
  x.mutable_cpu_data()[2] = 0;
  x.mutable_cpu_data()[3] = -20;
  const auto got = test::forward_backward<float>("name: 'e' type: 'ELU'", ctx, x, false);
  EXPECT_FLOAT_EQ(got.y[0], std::exp(-1.0f) - 1);
  EXPECT_EQ(got.y[1], 2.0f);
  EXPECT_EQ(got.y[2], 0.0f);
  EXPECT_FLOAT_EQ(got.y[3], std::exp(-20.0f) - 1);
}

TEST(ELU, GradientDouble) {
  for (double alpha : {1.0, 0.3}) {
    SCOPED_TRACE(alpha);
    Context ctx = Context::cpu(1);
    Tensor<double> x({2, 3, 3, 2}), y;
    test::fill_away_from_zero(x, 0.05, 2.0, 3);
    auto layer = test::make_layer<double>(elu_text(alpha), ctx, {&x}, {&y});
    test::check_gradient<double>(*layer, ctx, {&x}, {&y});
  }
}

TEST(ELU, InPlaceEqualsOutOfPlace) {
  Tensor<float> x({3, 4, 5});
  test::fill_away_from_zero(x, 0.01, 2.0, 5);
  for (double alpha : {1.0, 0.0, 2.5}) {
    SCOPED_TRACE(alpha);
    test::expect_in_place_matches(elu_text(alpha), x);
  }
}

TEST(ELU, ThreadCountDoesNotChangeResults) {
  Tensor<float> x({4, 8, 16, 16});
  test::fill_uniform(x, -3, 3, 9);
  test::expect_thread_invariant(elu_text(0.7), x);
}

TEST(ELU, Errors) {
  Context ctx = Context::cpu(1);
  Tensor<float> x({2, 3}), y, z({2, 3});
  // Negative alpha in-place: the output's sign no longer tells x > 0.
  EXPECT_THROW(test::make_layer<float>(elu_text(-0.5), ctx, {&z}, {&z}), ConfigError);
  EXPECT_NO_THROW(test::make_layer<float>(elu_text(-0.5), ctx, {&x}, {&y}));
  EXPECT_THROW(test::make_layer<float>(elu_text(1), ctx, {&x, &z}, {&y}), ConfigError);
  EXPECT_THROW(test::make_layer<float>(elu_text(1), ctx, {&x}, {}), ConfigError);
}

// The layer's GPU path against its CPU path, forward and backward, separate top and in-place;
// tolerance: device expm1 (tests/gpu_compare.h).
TEST(GpuELU, LayerMatchesCpu) {
  CREMA_REQUIRE_GPU();
  Tensor<float> x({2, 3, 8, 8});
  test::fill_uniform(x, -4, 4, 61);
  for (double alpha : {1.0, 0.3}) {
    SCOPED_TRACE(elu_text(alpha));
    for (bool in_place : {false, true})
      test::expect_gpu_matches_cpu(elu_text(alpha), x, in_place, test::kGpuMathTol);
  }
}

}  // namespace
}  // namespace crema
