#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "tests/gpu_compare.h"
#include "tests/layer_checks.h"
#include "tests/reference/threshold_ref.h"
#include "tests/test_util.h"

namespace crema {
namespace {

std::string threshold_text(double t) {
  return "name: 'th' type: 'Threshold' threshold_param { threshold: " + std::to_string(t) + " }";
}

template <class T>
void check_against_reference(double t) {
  Context ctx = Context::cpu(1);
  Tensor<T> x({2, 3, 4, 5});
  test::fill_uniform(x, -1, 1, 11);
  x.mutable_cpu_data()[3] = static_cast<T>(t);  // exactly at the threshold: 0
  const auto got = test::forward_backward(threshold_text(t), ctx, x, false, 99, false);
  ASSERT_EQ(got.top_shape, x.shape());
  const auto want = ref::threshold_forward(x.cpu_data(), x.count(), t);
  test::expect_near_ref(got.y.data(), want.data(), x.count(), 0, "threshold y");
  EXPECT_EQ(got.y[3], T(0));
}

// Thresholds exactly representable in float, so the reference compares the same number.
TEST(Threshold, ForwardMatchesReference) {
  for (double t : {0.0, 0.25, -0.5}) {
    SCOPED_TRACE(t);
    check_against_reference<float>(t);
    check_against_reference<double>(t);
  }
}

TEST(Threshold, InPlaceEqualsOutOfPlace) {
  Context ctx = Context::cpu(1);
  Tensor<float> x({3, 4, 5});
  test::fill_uniform(x, -1, 1, 5);
  const auto out = test::forward_backward(threshold_text(0.25), ctx, x, false, 99, false);
  const auto in = test::forward_backward(threshold_text(0.25), ctx, x, true, 99, false);
  EXPECT_EQ(out.y, in.y);
}

TEST(Threshold, ThreadCountDoesNotChangeResults) {
  Tensor<float> x({4, 8, 16, 16});
  test::fill_uniform(x, -1, 1, 9);
  Context one = Context::cpu(1), two = Context::cpu(2);
  EXPECT_EQ(test::forward_backward(threshold_text(0.1), one, x, false, 99, false).y,
            test::forward_backward(threshold_text(0.1), two, x, false, 99, false).y);
}

TEST(Threshold, BackwardIsAnError) {
  Context ctx = Context::cpu(1);
  Tensor<float> x({2, 3}), y;
  test::fill_uniform(x, -1, 1, 1);
  auto layer = test::make_layer<float>(threshold_text(0), ctx, {&x}, {&y});
  EXPECT_FALSE(layer->allow_force_backward(0));
  layer->forward(ctx, {&x}, {&y});
  EXPECT_THROW(layer->backward(ctx, {&y}, {true}, {&x}), ConfigError);
  EXPECT_NO_THROW(layer->backward(ctx, {&y}, {false}, {&x}));
}

TEST(Threshold, Errors) {
  Context ctx = Context::cpu(1);
  Tensor<float> x({2, 3}), y, z({2, 3});
  EXPECT_THROW(test::make_layer<float>(threshold_text(0), ctx, {&x, &z}, {&y}), ConfigError);
  EXPECT_THROW(test::make_layer<float>(threshold_text(0), ctx, {&x}, {}), ConfigError);
}

// The layer's GPU forward against its CPU forward, bitwise (a comparison), separate top and
// in-place; backward asks for no gradient and is an error on the GPU as on the CPU.
TEST(GpuThreshold, LayerMatchesCpu) {
  CREMA_REQUIRE_GPU();
  Tensor<float> x({2, 3, 8, 8});
  test::fill_uniform(x, -1, 1, 61);
  x.mutable_cpu_data()[1] = 0.25f;  // exactly at the threshold: not above it
  for (bool in_place : {false, true})
    test::expect_gpu_matches_cpu(threshold_text(0.25), x, in_place, 0, false);
  Context gpu = Context::gpu(0, 1);
  Tensor<float> y;
  auto layer = test::make_layer<float>(threshold_text(0.25), gpu, {&x}, {&y});
  layer->forward(gpu, {&x}, {&y});
  EXPECT_THROW(layer->backward(gpu, {&y}, {true}, {&x}), ConfigError);
  EXPECT_NO_THROW(layer->backward(gpu, {&y}, {false}, {&x}));
}

}  // namespace
}  // namespace crema
