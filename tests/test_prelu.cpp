#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/gpu_compare.h"
#include "tests/layer_checks.h"
#include "tests/reference/prelu_ref.h"
#include "tests/test_util.h"

namespace crema {
namespace {

// Random slopes from a uniform filler (default: constant 0.25).
std::string prelu_text(bool shared, bool random_slopes = true) {
  std::string p = std::string("channel_shared: ") + (shared ? "true" : "false");
  if (random_slopes) p += " filler { type: 'uniform' min: -0.5 max: 0.8 }";
  return "name: 'prelu' type: 'PReLU' prelu_param { " + p + " }";
}

template <class T>
void check_against_reference(bool shared, const std::vector<int64_t>& shape) {
  Context ctx = Context::cpu(1);
  Tensor<T> x(shape), y;
  test::fill_away_from_zero(x, 0.01, 2.0, 11);
  auto layer = test::make_layer<T>(prelu_text(shared), ctx, {&x}, {&y});
  ASSERT_EQ(y.shape(), x.shape());
  const Tensor<T>& slopes = *layer->blobs()[0];
  ASSERT_EQ(slopes.count(), shared ? 1 : shape[1]);
  layer->forward(ctx, {&x}, {&y});
  const auto dy = test::random_values<T>(y.count(), 3);
  std::copy(dy.begin(), dy.end(), y.mutable_cpu_diff());
  x.set_diff(T(7));
  layer->blobs()[0]->set_diff(T(0));
  layer->backward(ctx, {&y}, {true}, {&x});
  const int64_t inner = x.count(2);
  const auto want =
      ref::prelu(x.cpu_data(), dy.data(), shape[0], shape[1], inner, slopes.cpu_data(), shared);
  const double tol = sizeof(T) == 4 ? 1e-5 : 1e-12;
  test::expect_near_ref(y.cpu_data(), want.y.data(), y.count(), tol, "prelu y");
  test::expect_near_ref(x.cpu_diff(), want.dx.data(), x.count(), tol, "prelu dx");
  test::expect_near_ref(slopes.cpu_diff(), want.dslope.data(), slopes.count(), tol, "prelu dslope");
}

TEST(PReLU, ForwardBackwardMatchReference) {
  for (bool shared : {false, true}) {
    for (const auto& shape : std::vector<std::vector<int64_t>>{{2, 3, 4, 5}, {3, 4}, {2, 5, 3}}) {
      SCOPED_TRACE(shared);
      check_against_reference<float>(shared, shape);
      check_against_reference<double>(shared, shape);
    }
  }
}

TEST(PReLU, DefaultSlopeIsQuarter) {
  Context ctx = Context::cpu(1);
  Tensor<float> x({2, 3, 2}), y;
  auto layer = test::make_layer<float>("name: 'p' type: 'PReLU'", ctx, {&x}, {&y});
  ASSERT_EQ(layer->blobs().size(), 1u);
  ASSERT_EQ(layer->blobs()[0]->shape(), std::vector<int64_t>{3});
  for (int c = 0; c < 3; ++c) EXPECT_EQ(layer->blobs()[0]->cpu_data()[c], 0.25f);
  auto shared = test::make_layer<float>(prelu_text(true, false), ctx, {&x}, {&y});
  EXPECT_EQ(shared->blobs()[0]->num_axes(), 0);  // a scalar, as Caffe
  EXPECT_EQ(shared->blobs()[0]->cpu_data()[0], 0.25f);
}

TEST(PReLU, SlopeGradientAccumulates) {
  Context ctx = Context::cpu(1);
  Tensor<double> x({2, 3, 4}), y;
  test::fill_away_from_zero(x, 0.1, 1.0, 4);
  auto layer = test::make_layer<double>(prelu_text(false), ctx, {&x}, {&y});
  layer->forward(ctx, {&x}, {&y});
  const auto dy = test::random_values<double>(y.count(), 8);
  std::copy(dy.begin(), dy.end(), y.mutable_cpu_diff());
  layer->blobs()[0]->set_diff(0);
  layer->backward(ctx, {&y}, {true}, {&x});
  const std::vector<double> once(layer->blobs()[0]->cpu_diff(), layer->blobs()[0]->cpu_diff() + 3);
  layer->backward(ctx, {&y}, {true}, {&x});
  for (int c = 0; c < 3; ++c) {
    EXPECT_NE(once[c], 0.0);
    EXPECT_DOUBLE_EQ(layer->blobs()[0]->cpu_diff()[c], 2 * once[c]);
  }
}

TEST(PReLU, GradientDouble) {
  for (bool shared : {false, true}) {
    SCOPED_TRACE(shared);
    Context ctx = Context::cpu(1);
    Tensor<double> x({2, 3, 3, 2}), y;
    test::fill_away_from_zero(x, 0.05, 1.0, 3);
    auto layer = test::make_layer<double>(prelu_text(shared), ctx, {&x}, {&y});
    test::check_gradient<double>(*layer, ctx, {&x}, {&y});
  }
}

TEST(PReLU, InPlaceEqualsOutOfPlace) {
  Tensor<float> x({3, 4, 5});
  test::fill_away_from_zero(x, 0.01, 1.0, 5);
  for (bool shared : {false, true}) {
    SCOPED_TRACE(shared);
    test::expect_in_place_matches(prelu_text(shared), x);
  }
}

TEST(PReLU, ThreadCountDoesNotChangeResults) {
  Tensor<float> x({4, 8, 16, 16});
  test::fill_uniform(x, -1, 1, 9);
  for (bool shared : {false, true}) {
    SCOPED_TRACE(shared);
    test::expect_thread_invariant(prelu_text(shared), x);
  }
}

TEST(PReLU, Errors) {
  Context ctx = Context::cpu(1);
  Tensor<float> x({2, 3, 4}), y, v({5}), z({2, 3});
  // PReLU needs a channel axis.
  EXPECT_THROW(test::make_layer<float>(prelu_text(false), ctx, {&v}, {&y}), ShapeError);
  // The slopes were made for 3 channels; a reshaped bottom with 5 does not fit.
  auto layer = test::make_layer<float>(prelu_text(false), ctx, {&x}, {&y});
  Tensor<float> x5({2, 5, 4});
  EXPECT_THROW(layer->forward(ctx, {&x5}, {&y}), ShapeError);
  EXPECT_THROW(test::make_layer<float>(prelu_text(false), ctx, {&x, &z}, {&y}), ConfigError);
  EXPECT_THROW(
      test::make_layer<float>("name: 'p' type: 'PReLU' prelu_param { filler { type: 'nonesuch' } }",
                              ctx, {&x}, {&y}),
      ConfigError);
}

// The layer's GPU path against its CPU path, forward, input and slope gradients, per-channel and
// shared slopes, separate top and in-place; tolerance: the slope-gradient sums fuse multiply-adds
// on the device (tests/gpu_compare.h).
TEST(GpuPReLU, LayerMatchesCpu) {
  CREMA_REQUIRE_GPU();
  Tensor<float> x({2, 3, 6, 5});
  test::fill_uniform(x, -1, 1, 61);
  for (bool shared : {false, true}) {
    SCOPED_TRACE(prelu_text(shared));
    for (bool in_place : {false, true})
      test::expect_gpu_matches_cpu(prelu_text(shared), x, in_place, test::kGpuMathTol);
  }
}

}  // namespace
}  // namespace crema
