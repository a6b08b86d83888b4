#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/reference/concat_ref.h"
#include "tests/cuda_test_util.h"
#include "tests/gpu_compare.h"
#include "tests/layer_checks.h"
#include "tests/test_util.h"

namespace crema {
namespace {

std::string concat_text(const std::string& param) {
  return "name: 'cat' type: 'Concat' concat_param { " + param + " }";
}

template <class T>
std::vector<T> to(const std::vector<double>& v) {
  return std::vector<T>(v.begin(), v.end());
}

// Concatenates bottoms of the given shapes with `param`; canonical axis `axis`.
template <class T>
void check_case(const std::string& param, const std::vector<std::vector<int64_t>>& shapes,
                int axis) {
  SCOPED_TRACE(param);
  Context ctx = Context::cpu(1);
  std::vector<Tensor<T>> xs(shapes.size());
  TensorVec<T> bottom;
  std::vector<const T*> ptrs;
  for (size_t b = 0; b < shapes.size(); ++b) {
    xs[b].reshape(shapes[b]);
    test::fill_uniform(xs[b], -1, 1, 60 + b);
    bottom.push_back(&xs[b]);
    ptrs.push_back(xs[b].cpu_data());
  }
  Tensor<T> y;
  auto layer = test::make_layer<T>(concat_text(param), ctx, bottom, {&y});
  layer->forward(ctx, bottom, {&y});
  std::vector<int64_t> want_shape = shapes[0];
  want_shape[axis] = 0;
  for (const auto& s : shapes) want_shape[axis] += s[axis];
  ASSERT_EQ(y.shape(), want_shape);
  const auto want = ref::concat_forward(ptrs, shapes, axis);
  test::expect_near(y.cpu_data(), to<T>(want).data(), y.count(), 0.0, "concat y");
  // Backward splits dy back: concatenating the bottom diffs must give dy again.
  test::fill_uniform(y, -1, 1, 70);
  std::vector<T> dy(y.cpu_data(), y.cpu_data() + y.count());
  std::copy(dy.begin(), dy.end(), y.mutable_cpu_diff());
  std::vector<const T*> diffs;
  for (auto* b : bottom) {
    b->set_diff(T(7));
    diffs.push_back(b->cpu_diff());
  }
  layer->backward(ctx, {&y}, std::vector<bool>(bottom.size(), true), bottom);
  const auto back = ref::concat_forward(diffs, shapes, axis);
  test::expect_near(dy.data(), to<T>(back).data(), y.count(), 0.0, "concat dx");
}

TEST(Concat, ForwardBackwardMatchReference) {
  check_case<float>("", {{2, 3, 4}, {2, 5, 4}, {2, 1, 4}}, 1);
  check_case<double>("axis: 0", {{2, 3, 4}, {1, 3, 4}}, 0);
  check_case<double>("axis: -1", {{2, 3, 4}, {2, 3, 2}, {2, 3, 5}}, 2);
  check_case<float>("axis: 2", {{2, 3, 4, 2}, {2, 3, 1, 2}}, 2);
  check_case<double>("concat_dim: 0", {{3, 2}, {4, 2}}, 0);
  check_case<float>("axis: 1", {{2, 0, 3}, {2, 4, 3}}, 1);  // an empty bottom
}

TEST(Concat, SingleBottomPassesThrough) {
  Context ctx = Context::cpu(1);
  Tensor<double> x({2, 3}), y;
  test::fill_uniform(x, -1, 1, 1);
  auto layer = test::make_layer<double>(concat_text(""), ctx, {&x}, {&y});
  layer->forward(ctx, {&x}, {&y});
  EXPECT_EQ(y.shape(), x.shape());
  EXPECT_TRUE(y.shares_data_with(x));
  y.mutable_cpu_diff()[4] = 3.5;
  layer->backward(ctx, {&y}, {true}, {&x});
  EXPECT_EQ(x.cpu_diff()[4], 3.5);
}

TEST(Concat, GradientDouble) {
  Context ctx = Context::cpu(1);
  Tensor<double> a({2, 3, 2}), b({2, 1, 2}), c({2, 2, 2}), y;
  test::fill_uniform(a, -1, 1, 1);
  test::fill_uniform(b, -1, 1, 2);
  test::fill_uniform(c, -1, 1, 3);
  auto layer = test::make_layer<double>(concat_text("axis: 1"), ctx, {&a, &b, &c}, {&y});
  test::check_gradient<double>(*layer, ctx, {&a, &b, &c}, {&y});
}

TEST(Concat, Errors) {
  Context ctx = Context::cpu(1);
  Tensor<float> a({2, 3, 4}), b({2, 5, 4}), c({3, 5, 4}), d({2, 3}), y;
  EXPECT_THROW(test::make_layer<float>(concat_text("axis: 1 concat_dim: 1"), ctx, {&a, &b}, {&y}),
               ConfigError);
  EXPECT_THROW(test::make_layer<float>(concat_text("axis: 3"), ctx, {&a, &b}, {&y}), ShapeError);
  EXPECT_THROW(test::make_layer<float>(concat_text("axis: -4"), ctx, {&a, &b}, {&y}), ShapeError);
  EXPECT_THROW(test::make_layer<float>(concat_text("concat_dim: 3"), ctx, {&a, &b}, {&y}),
               ShapeError);
  EXPECT_THROW(test::make_layer<float>(concat_text(""), ctx, {&a, &d}, {&y}), ShapeError);
  EXPECT_THROW(test::make_layer<float>(concat_text(""), ctx, {&a, &b}, {&a}), ConfigError);
  try {
    test::make_layer<float>(concat_text("axis: 1"), ctx, {&a, &b, &c}, {&y});
    ADD_FAILURE() << "expected ShapeError";
  } catch (const ShapeError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("bottom 2"), std::string::npos) << msg;
    EXPECT_NE(msg.find("3x5x4"), std::string::npos) << msg;
    EXPECT_NE(msg.find("2x3x4"), std::string::npos) << msg;
  }
}

// The GPU path (one pitched device copy per bottom) against the CPU on several axes, with one
// bottom not propagated: bitwise (copies only).
TEST(GpuConcat, LayerMatchesCpu) {
  CREMA_REQUIRE_GPU();
  Tensor<float> a({2, 3, 4, 5}), b({2, 1, 4, 5}), c({2, 2, 4, 5});
  test::fill_uniform(a, -1, 1, 121);
  test::fill_uniform(b, -1, 1, 122);
  test::fill_uniform(c, -1, 1, 123);
  test::expect_gpu_matches_cpu_multi<float>(concat_text("axis: 1"), {&a, &b, &c},
                                            {true, false, true}, 0);
  Tensor<float> d({2, 3, 4, 2}), e({2, 3, 4, 7});
  test::fill_uniform(d, -1, 1, 124);
  test::fill_uniform(e, -1, 1, 125);
  test::expect_gpu_matches_cpu_multi<float>(concat_text("axis: -1"), {&d, &e}, {true, true}, 0);
  Tensor<float> f({1, 3, 4, 5}), g({3, 3, 4, 5});
  test::fill_uniform(f, -1, 1, 126);
  test::fill_uniform(g, -1, 1, 127);
  test::expect_gpu_matches_cpu_multi<float>(concat_text("axis: 0"), {&f, &g}, {true, true}, 0);
}

}  // namespace
}  // namespace crema
