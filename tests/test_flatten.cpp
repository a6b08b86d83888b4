#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/test_util.h"

namespace crema {
namespace {

std::string flatten_text(const std::string& param) {
  return "name: 'flat' type: 'Flatten' flatten_param { " + param + " }";
}

std::vector<int64_t> flat_shape(const std::string& param, const std::vector<int64_t>& in) {
  Context ctx = Context::cpu(1);
  Tensor<float> x(in), y;
  auto layer = test::make_layer<float>(flatten_text(param), ctx, {&x}, {&y});
  layer->forward(ctx, {&x}, {&y});
  return y.shape();
}

TEST(Flatten, Shapes) {
  using S = std::vector<int64_t>;
  EXPECT_EQ(flat_shape("", {2, 3, 4, 5}), (S{2, 60}));
  EXPECT_EQ(flat_shape("axis: 0", {2, 3, 4, 5}), (S{120}));
  EXPECT_EQ(flat_shape("axis: 2", {2, 3, 4, 5}), (S{2, 3, 20}));
  EXPECT_EQ(flat_shape("end_axis: 2", {2, 3, 4, 5}), (S{2, 12, 5}));
  EXPECT_EQ(flat_shape("axis: -3 end_axis: -2", {2, 3, 4, 5}), (S{2, 12, 5}));
  EXPECT_EQ(flat_shape("axis: 1 end_axis: 1", {2, 3, 4}), (S{2, 3, 4}));
  EXPECT_EQ(flat_shape("", {6, 7}), (S{6, 7}));
}

TEST(Flatten, SharesDataAndDiff) {
  Context ctx = Context::cpu(1);
  Tensor<double> x({2, 3, 4}), y;
  test::fill_uniform(x, -1, 1, 1);
  auto layer = test::make_layer<double>(flatten_text(""), ctx, {&x}, {&y});
  layer->forward(ctx, {&x}, {&y});
  EXPECT_TRUE(y.shares_data_with(x));
  for (int64_t i = 0; i < x.count(); ++i) EXPECT_EQ(y.cpu_data()[i], x.cpu_data()[i]);
  y.mutable_cpu_diff()[5] = 2.5;
  layer->backward(ctx, {&y}, {true}, {&x});
  EXPECT_EQ(x.cpu_diff()[5], 2.5);
}

TEST(Flatten, GradientDouble) {
  Context ctx = Context::cpu(1);
  Tensor<double> x({2, 3, 2}), y;
  test::fill_uniform(x, -1, 1, 2);
  auto layer = test::make_layer<double>(flatten_text(""), ctx, {&x}, {&y});
  test::check_gradient<double>(*layer, ctx, {&x}, {&y});
}

TEST(Flatten, Errors) {
  Context ctx = Context::cpu(1);
  Tensor<float> x({2, 3, 4}), y;
  EXPECT_THROW(test::make_layer<float>(flatten_text("axis: 3"), ctx, {&x}, {&y}), ShapeError);
  EXPECT_THROW(test::make_layer<float>(flatten_text("end_axis: -4"), ctx, {&x}, {&y}), ShapeError);
  EXPECT_THROW(test::make_layer<float>(flatten_text("axis: 2 end_axis: 1"), ctx, {&x}, {&y}),
               ShapeError);
  EXPECT_THROW(test::make_layer<float>(flatten_text(""), ctx, {&x}, {&x}), ConfigError);
}

}  // namespace
}  // namespace crema
