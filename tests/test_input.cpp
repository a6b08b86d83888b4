#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/test_util.h"

namespace crema {
namespace {

using S = std::vector<int64_t>;

TEST(Input, OneShapeForAllTops) {
  Context ctx = Context::cpu(1);
  Tensor<float> a, b;
  auto layer = test::make_layer<float>(
      "name: 'in' type: 'Input' input_param { shape { dim: 2 dim: 3 dim: 4 } }", ctx, {}, {&a, &b});
  EXPECT_EQ(a.shape(), (S{2, 3, 4}));
  EXPECT_EQ(b.shape(), (S{2, 3, 4}));
}

TEST(Input, ShapePerTopAndDataUntouched) {
  Context ctx = Context::cpu(1);
  Tensor<double> a, b;
  auto layer = test::make_layer<double>(
      "name: 'in' type: 'Input' input_param { shape { dim: 5 } shape { dim: 1 dim: 2 } }", ctx, {},
      {&a, &b});
  EXPECT_EQ(a.shape(), (S{5}));
  EXPECT_EQ(b.shape(), (S{1, 2}));
  test::fill_uniform(a, -1, 1, 1);
  const std::vector<double> before(a.cpu_data(), a.cpu_data() + a.count());
  layer->forward(ctx, {}, {&a, &b});
  layer->backward(ctx, {&a, &b}, {}, {});
  EXPECT_EQ(std::vector<double>(a.cpu_data(), a.cpu_data() + a.count()), before);
  // A caller's reshape of the input is kept by later forwards.
  a.reshape({3, 3});
  layer->forward(ctx, {}, {&a, &b});
  EXPECT_EQ(a.shape(), (S{3, 3}));
}

TEST(Input, NoShapeLeavesTopsToTheCaller) {
  Context ctx = Context::cpu(1);
  Tensor<float> a({4, 4});
  test::make_layer<float>("name: 'in' type: 'Input'", ctx, {}, {&a});
  EXPECT_EQ(a.shape(), (S{4, 4}));
}

TEST(Input, Errors) {
  Context ctx = Context::cpu(1);
  Tensor<float> a, b, c, x({2});
  EXPECT_THROW(test::make_layer<float>(
                   "name: 'in' type: 'Input' input_param { shape { dim: 1 } shape { dim: 2 } }",
                   ctx, {}, {&a, &b, &c}),
               ConfigError);
  EXPECT_THROW(
      test::make_layer<float>("name: 'in' type: 'Input' input_param { shape { dim: 2 dim: -1 } }",
                              ctx, {}, {&a}),
      ConfigError);
  EXPECT_THROW(test::make_layer<float>("name: 'in' type: 'Input' input_param { shape { dim: 1 } }",
                                       ctx, {&x}, {&a}),
               ConfigError);
  EXPECT_THROW(test::make_layer<float>("name: 'in' type: 'Input'", ctx, {}, {}), ConfigError);
}

}  // namespace
}  // namespace crema
