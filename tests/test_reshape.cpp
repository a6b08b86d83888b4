#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/test_util.h"

namespace crema {
namespace {

std::string reshape_text(const std::string& param) {
  return "name: 'rs' type: 'Reshape' reshape_param { " + param + " }";
}

std::vector<int64_t> new_shape(const std::string& param, const std::vector<int64_t>& in) {
  Context ctx = Context::cpu(1);
  Tensor<float> x(in), y;
  auto layer = test::make_layer<float>(reshape_text(param), ctx, {&x}, {&y});
  layer->forward(ctx, {&x}, {&y});
  return y.shape();
}

TEST(Reshape, Shapes) {
  using S = std::vector<int64_t>;
  const S in{2, 3, 4, 5};
  EXPECT_EQ(new_shape("shape { dim: 0 dim: -1 }", in), (S{2, 60}));
  EXPECT_EQ(new_shape("shape { dim: -1 }", in), (S{120}));
  EXPECT_EQ(new_shape("shape { dim: 6 dim: 20 }", in), (S{6, 20}));
  EXPECT_EQ(new_shape("shape { dim: 0 dim: 0 dim: -1 dim: 5 }", in), (S{2, 3, 4, 5}));
  EXPECT_EQ(new_shape("shape { dim: 0 dim: 2 dim: -1 dim: 0 }", in), (S{2, 2, 6, 5}));
  // axis / num_axes replace only a range of axes.
  EXPECT_EQ(new_shape("axis: 1 num_axes: 2 shape { dim: 12 }", in), (S{2, 12, 5}));
  EXPECT_EQ(new_shape("axis: 1 num_axes: 2 shape { dim: -1 }", in), (S{2, 12, 5}));
  EXPECT_EQ(new_shape("axis: 1 num_axes: 2 shape { dim: 0 dim: 2 dim: 2 }", in),
            (S{2, 3, 2, 2, 5}));
  EXPECT_EQ(new_shape("axis: 0 num_axes: 0 shape { dim: 1 }", in), (S{1, 2, 3, 4, 5}));
  EXPECT_EQ(new_shape("axis: -1 num_axes: 0 shape { dim: 1 }", in), (S{2, 3, 4, 5, 1}));
  EXPECT_EQ(new_shape("axis: -2 shape { dim: 5 dim: 1 }", in), (S{2, 3, 4, 5, 1}));
  EXPECT_EQ(new_shape("axis: 2 shape { dim: -1 }", in), (S{2, 3, 20}));
  EXPECT_EQ(new_shape("shape { }", S{1}), (S{}));  // to a scalar
}

TEST(Reshape, SharesDataAndDiff) {
  Context ctx = Context::cpu(1);
  Tensor<double> x({2, 3, 4}), y;
  test::fill_uniform(x, -1, 1, 1);
  auto layer = test::make_layer<double>(reshape_text("shape { dim: 4 dim: -1 }"), ctx, {&x}, {&y});
  layer->forward(ctx, {&x}, {&y});
  EXPECT_EQ(y.shape(), (std::vector<int64_t>{4, 6}));
  EXPECT_TRUE(y.shares_data_with(x));
  y.mutable_cpu_diff()[7] = -1.25;
  layer->backward(ctx, {&y}, {true}, {&x});
  EXPECT_EQ(x.cpu_diff()[7], -1.25);
  // The inferred dim follows a new bottom shape.
  x.reshape({4, 5, 2});
  layer->forward(ctx, {&x}, {&y});
  EXPECT_EQ(y.shape(), (std::vector<int64_t>{4, 10}));
}

TEST(Reshape, GradientDouble) {
  Context ctx = Context::cpu(1);
  Tensor<double> x({2, 3, 2}), y;
  test::fill_uniform(x, -1, 1, 2);
  auto layer = test::make_layer<double>(reshape_text("shape { dim: 0 dim: -1 }"), ctx, {&x}, {&y});
  test::check_gradient<double>(*layer, ctx, {&x}, {&y});
}

TEST(Reshape, Errors) {
  Context ctx = Context::cpu(1);
  Tensor<float> x({2, 3, 4}), y;
  auto make = [&](const std::string& p) {
    return test::make_layer<float>(reshape_text(p), ctx, {&x}, {&y});
  };
  EXPECT_THROW(make("shape { dim: -1 dim: -1 }"), ConfigError);
  EXPECT_THROW(make("shape { dim: -2 dim: 12 }"), ConfigError);
  EXPECT_THROW(make("num_axes: -2 shape { dim: 24 }"), ConfigError);
  EXPECT_THROW(make("shape { dim: 5 dim: -1 }"), ShapeError);               // 24 not divisible by 5
  EXPECT_THROW(make("shape { dim: 0 dim: 0 dim: 0 dim: 0 }"), ShapeError);  // no axis 3
  EXPECT_THROW(make("axis: 4 shape { dim: 1 }"), ShapeError);
  EXPECT_THROW(make("axis: -5 shape { dim: 1 }"), ShapeError);
  EXPECT_THROW(make("axis: 2 num_axes: 2 shape { dim: 4 }"), ShapeError);
  EXPECT_THROW(test::make_layer<float>(reshape_text("shape { dim: -1 }"), ctx, {&x}, {&x}),
               ConfigError);
  try {
    make("shape { dim: 5 dim: 5 }");
    ADD_FAILURE() << "expected ShapeError";
  } catch (const ShapeError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("5x5"), std::string::npos) << msg;
    EXPECT_NE(msg.find("2x3x4"), std::string::npos) << msg;
  }
}

}  // namespace
}  // namespace crema
