#include <gtest/gtest.h>

#include <vector>

#include "tests/cuda_test_util.h"
#include "tests/test_util.h"

namespace crema {
namespace {

constexpr const char* kText = "name: 'silence' type: 'Silence'";

TEST(Silence, ForwardLeavesBottomsAndBackwardZeroesRequestedDiffs) {
  Context ctx = Context::cpu(1);
  Tensor<double> a({2, 3}), b({4});
  test::fill_uniform(a, -1, 1, 1);
  test::fill_uniform(b, -1, 1, 2);
  const std::vector<double> a0(a.cpu_data(), a.cpu_data() + a.count());
  TensorVec<double> bottom{&a, &b}, top;
  auto layer = test::make_layer<double>(kText, ctx, bottom, top);
  EXPECT_EQ(layer->forward(ctx, bottom, top), 0.0);
  for (int64_t i = 0; i < a.count(); ++i) EXPECT_EQ(a.cpu_data()[i], a0[i]);
  a.set_diff(7);
  b.set_diff(7);
  layer->backward(ctx, top, {true, false}, bottom);
  for (int64_t i = 0; i < a.count(); ++i) EXPECT_EQ(a.cpu_diff()[i], 0.0);
  for (int64_t i = 0; i < b.count(); ++i) EXPECT_EQ(b.cpu_diff()[i], 7.0);
  layer->backward(ctx, top, {false, true}, bottom);
  for (int64_t i = 0; i < b.count(); ++i) EXPECT_EQ(b.cpu_diff()[i], 0.0);
}

TEST(Silence, GradientDoubleIsZero) {
  Context ctx = Context::cpu(1);
  Tensor<double> a({2, 2}), b({3});
  test::fill_uniform(a, -1, 1, 3);
  test::fill_uniform(b, -1, 1, 4);
  auto layer = test::make_layer<double>(kText, ctx, {&a, &b}, {});
  test::check_gradient<double>(*layer, ctx, {&a, &b}, {});
}

TEST(Silence, Errors) {
  Context ctx = Context::cpu(1);
  Tensor<float> a({2}), y;
  EXPECT_THROW(test::make_layer<float>(kText, ctx, {}, {}), ConfigError);
  EXPECT_THROW(test::make_layer<float>(kText, ctx, {&a}, {&y}), ConfigError);
}

TEST(GpuSilence, BackwardZeroesRequestedDiffsOnTheDevice) {
  CREMA_REQUIRE_GPU();
  Context gpu = Context::gpu(0, 1);
  Tensor<float> a({2, 3}), b({4});
  TensorVec<float> bottom{&a, &b}, top;
  auto layer = test::make_layer<float>(kText, gpu, bottom, top);
  a.set_diff(7);
  b.set_diff(7);
  layer->backward(gpu, top, {true, false}, bottom);
  for (int64_t i = 0; i < a.count(); ++i) EXPECT_EQ(a.cpu_diff()[i], 0.0f);
  for (int64_t i = 0; i < b.count(); ++i) EXPECT_EQ(b.cpu_diff()[i], 7.0f);
}

}  // namespace
}  // namespace crema
