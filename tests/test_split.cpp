#include <gtest/gtest.h>

#include <vector>

#include "tests/cuda_test_util.h"
#include "tests/test_util.h"

namespace crema {
namespace {

constexpr const char* kText = "name: 'split' type: 'Split'";

TEST(Split, TopsShareBottomData) {
  Context ctx = Context::cpu(1);
  Tensor<float> x({2, 3, 4}), t0, t1, t2;
  test::fill_uniform(x, -1, 1, 1);
  auto layer = test::make_layer<float>(kText, ctx, {&x}, {&t0, &t1, &t2});
  layer->forward(ctx, {&x}, {&t0, &t1, &t2});
  for (auto* t : {&t0, &t1, &t2}) {
    EXPECT_EQ(t->shape(), x.shape());
    EXPECT_TRUE(t->shares_data_with(x));
  }
  // A reshaped bottom is followed by the tops on the next forward.
  x.reshape({5, 7});
  test::fill_uniform(x, -1, 1, 2);
  layer->forward(ctx, {&x}, {&t0, &t1, &t2});
  for (auto* t : {&t0, &t1, &t2}) {
    EXPECT_EQ(t->shape(), x.shape());
    for (int64_t i = 0; i < x.count(); ++i) EXPECT_EQ(t->cpu_data()[i], x.cpu_data()[i]);
  }
}

TEST(Split, BackwardSumsTopDiffs) {
  Context ctx = Context::cpu(1);
  Tensor<double> x({3, 5}), t0, t1, t2;
  auto layer = test::make_layer<double>(kText, ctx, {&x}, {&t0, &t1, &t2});
  layer->forward(ctx, {&x}, {&t0, &t1, &t2});
  for (int k = 0; k < 3; ++k) {
    Tensor<double>* t = std::vector<Tensor<double>*>{&t0, &t1, &t2}[k];
    for (int64_t i = 0; i < t->count(); ++i) t->mutable_cpu_diff()[i] = (k + 1) * 10.0 + i;
  }
  x.set_diff(7.0);
  layer->backward(ctx, {&t0, &t1, &t2}, {true}, {&x});
  // Naive sum: (10 + i) + (20 + i) + (30 + i).
  for (int64_t i = 0; i < x.count(); ++i) EXPECT_EQ(x.cpu_diff()[i], 60.0 + 3 * i);
  // Not propagating leaves the bottom diff alone.
  x.set_diff(7.0);
  layer->backward(ctx, {&t0, &t1, &t2}, {false}, {&x});
  for (int64_t i = 0; i < x.count(); ++i) EXPECT_EQ(x.cpu_diff()[i], 7.0);
}

TEST(Split, GradientDouble) {
  for (int tops : {1, 3}) {
    SCOPED_TRACE(tops);
    Context ctx = Context::cpu(1);
    Tensor<double> x({2, 3, 2});
    std::vector<Tensor<double>> ts(tops);
    TensorVec<double> top;
    for (auto& t : ts) top.push_back(&t);
    test::fill_uniform(x, -1, 1, 3);
    auto layer = test::make_layer<double>(kText, ctx, {&x}, top);
    test::check_gradient<double>(*layer, ctx, {&x}, top);
  }
}

TEST(Split, Errors) {
  Context ctx = Context::cpu(1);
  Tensor<float> x({2, 3}), y, z;
  EXPECT_THROW(test::make_layer<float>(kText, ctx, {&x}, {&y, &x}), ConfigError);  // in-place
  EXPECT_THROW(test::make_layer<float>(kText, ctx, {&x, &z}, {&y}), ConfigError);
  EXPECT_THROW(test::make_layer<float>(kText, ctx, {&x}, {}), ConfigError);
}

// The GPU backward (copy, then cuBLAS axpy per extra top) adds in the CPU's order: bitwise.
TEST(GpuSplit, BackwardSumsTopDiffsOnTheDevice) {
  CREMA_REQUIRE_GPU();
  for (bool gpu : {false, true}) {
    Context ctx = gpu ? Context::gpu(0, 1) : Context::cpu(1);
    Tensor<float> x({4, 33}), t0, t1, t2;
    auto layer = test::make_layer<float>(kText, ctx, {&x}, {&t0, &t1, &t2});
    layer->forward(ctx, {&x}, {&t0, &t1, &t2});
    uint64_t seed = 70;
    for (auto* t : {&t0, &t1, &t2}) {
      const auto v = test::random_vector<float>(t->count(), seed++);
      std::copy(v.begin(), v.end(), t->mutable_cpu_diff());
    }
    layer->backward(ctx, {&t0, &t1, &t2}, {true}, {&x});
    for (int64_t i = 0; i < x.count(); ++i) {
      float want = t0.cpu_diff()[i];
      want += t1.cpu_diff()[i];
      want += t2.cpu_diff()[i];
      ASSERT_EQ(x.cpu_diff()[i], want) << (gpu ? "GPU " : "CPU ") << i;
    }
  }
}

}  // namespace
}  // namespace crema
