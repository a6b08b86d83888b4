#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/gpu_compare.h"
#include "tests/layer_checks.h"
#include "tests/reference/absval_ref.h"
#include "tests/test_util.h"

namespace crema {
namespace {

const char* kAbsVal = "name: 'abs' type: 'AbsVal'";

template <class T>
void check_against_reference(const std::vector<int64_t>& shape) {
  Context ctx = Context::cpu(1);
  Tensor<T> x(shape);
  test::fill_uniform(x, -2, 2, 11);
  x.mutable_cpu_data()[0] = T(0);  // sign(0) = 0: no gradient at the kink
  const auto got = test::forward_backward<T>(kAbsVal, ctx, x, false);
  ASSERT_EQ(got.top_shape, x.shape());
  const auto dy = test::random_values<T>(x.count(), 99);
  const auto want_y = ref::absval_forward(x.cpu_data(), x.count());
  const auto want_dx = ref::absval_backward(x.cpu_data(), dy.data(), x.count());
  test::expect_near_ref(got.y.data(), want_y.data(), x.count(), 0, "abs y");
  test::expect_near_ref(got.dx.data(), want_dx.data(), x.count(), 0, "abs dx");
  EXPECT_EQ(got.dx[0], T(0));
}

TEST(AbsVal, ForwardBackwardMatchReference) {
  for (const auto& shape : std::vector<std::vector<int64_t>>{{2, 3, 4, 5}, {7}, {3, 1, 2}}) {
    check_against_reference<float>(shape);
    check_against_reference<double>(shape);
  }
}

TEST(AbsVal, GradientDouble) {
  Context ctx = Context::cpu(1);
  Tensor<double> x({2, 3, 3, 2}), y;
  test::fill_away_from_zero(x, 0.05, 2.0, 3);  // away from the kink at 0
  auto layer = test::make_layer<double>(kAbsVal, ctx, {&x}, {&y});
  test::check_gradient<double>(*layer, ctx, {&x}, {&y});
}

TEST(AbsVal, ThreadCountDoesNotChangeResults) {
  Tensor<float> x({4, 8, 16, 16});
  test::fill_uniform(x, -3, 3, 9);
  test::expect_thread_invariant(kAbsVal, x);
}

TEST(AbsVal, Errors) {
  Context ctx = Context::cpu(1);
  Tensor<float> x({2, 3}), y, z({2, 3});
  // In-place loses the sign backward needs.
  EXPECT_THROW(test::make_layer<float>(kAbsVal, ctx, {&z}, {&z}), ConfigError);
  EXPECT_THROW(test::make_layer<float>(kAbsVal, ctx, {&x, &z}, {&y}), ConfigError);
  EXPECT_THROW(test::make_layer<float>(kAbsVal, ctx, {&x}, {&y, &z}), ConfigError);
}

// The layer's GPU path against its CPU path, forward and backward: |x| and sign(x) * dy are
// exact, so bitwise (AbsVal never runs in-place).
TEST(GpuAbsVal, LayerMatchesCpu) {
  CREMA_REQUIRE_GPU();
  Tensor<float> x({2, 3, 8, 8});
  test::fill_uniform(x, -2, 2, 61);
  x.mutable_cpu_data()[0] = 0.0f;  // sign(0) = 0 on both devices
  test::expect_gpu_matches_cpu(kAbsVal, x, false, 0);
}

}  // namespace
}  // namespace crema
