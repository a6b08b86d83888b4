#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/gpu_compare.h"
#include "tests/reference/crop_ref.h"
#include "tests/test_util.h"

namespace crema {
namespace {

std::string crop_text(const std::string& param) {
  return "name: 'crop' type: 'Crop' crop_param { " + param + " }";
}

template <class T>
std::vector<double> to_vec(const Tensor<T>& t, bool diff = false) {
  const T* p = diff ? t.cpu_diff() : t.cpu_data();
  return std::vector<double>(p, p + t.count());
}

struct Case {
  std::string param;
  std::vector<int64_t> shape, ref_shape;
  int axis;                      // canonical
  std::vector<int64_t> offsets;  // one per axis of x
};

const std::vector<Case> kCases = {
    {"", {2, 3, 6, 5}, {1, 1, 4, 3}, 2, {0, 0, 0, 0}},
    {"offset: 1", {2, 3, 6, 5}, {1, 1, 4, 3}, 2, {0, 0, 1, 1}},
    {"axis: 1 offset: 1 offset: 2 offset: 0", {2, 3, 6, 5}, {9, 2, 3, 5}, 1, {0, 1, 2, 0}},
    {"axis: -1 offset: 2", {2, 3, 6}, {2, 3, 3}, 2, {0, 0, 2}},
    {"axis: 0 offset: 1", {4, 5}, {2, 3}, 0, {1, 1}},
    {"axis: 0 offset: 0 offset: 2", {3, 5}, {3, 3}, 0, {0, 2}},
};

template <class T>
void check_case(const Case& c) {
  SCOPED_TRACE(c.param + " on " + shape_string(c.shape));
  Context ctx = Context::cpu(1);
  Tensor<T> x(c.shape), r(c.ref_shape), y;
  test::fill_uniform(x, -1, 1, 11);
  test::fill_uniform(r, -1, 1, 12);
  TensorVec<T> bottom{&x, &r}, top{&y};
  auto layer = test::make_layer<T>(crop_text(c.param), ctx, bottom, top);
  layer->forward(ctx, bottom, top);
  const auto want = ref::crop_forward(to_vec(x), c.shape, c.ref_shape, c.axis, c.offsets);
  ASSERT_EQ(y.shape(), want.top_shape);
  const std::vector<T> wy(want.y.begin(), want.y.end());
  test::expect_near(y.cpu_data(), wy.data(), y.count(), 0.0, "crop y");
  test::fill_uniform(y, -1, 1, 13);
  std::copy(y.cpu_data(), y.cpu_data() + y.count(), y.mutable_cpu_diff());
  x.set_diff(T(7));
  r.set_diff(T(7));
  layer->backward(ctx, top, {true, true}, bottom);
  const auto wdx = ref::crop_backward(to_vec(y, true), c.shape, want.top_shape, c.offsets);
  const std::vector<T> wd(wdx.begin(), wdx.end());
  test::expect_near(x.cpu_diff(), wd.data(), x.count(), 0.0, "crop dx");
  for (int64_t i = 0; i < r.count(); ++i) ASSERT_EQ(r.cpu_diff()[i], T(0)) << "reference diff";
}

TEST(Crop, ForwardBackwardMatchReference) {
  for (const Case& c : kCases) {
    check_case<float>(c);
    check_case<double>(c);
  }
}

TEST(Crop, BackwardLeavesUnrequestedBottoms) {
  Context ctx = Context::cpu(1);
  Tensor<double> x({1, 1, 4, 4}), r({1, 1, 2, 2}), y;
  TensorVec<double> bottom{&x, &r}, top{&y};
  auto layer = test::make_layer<double>(crop_text("offset: 1"), ctx, bottom, top);
  EXPECT_TRUE(layer->allow_force_backward(0));
  EXPECT_FALSE(layer->allow_force_backward(1));
  layer->forward(ctx, bottom, top);
  y.set_diff(1);
  x.set_diff(7);
  r.set_diff(7);
  layer->backward(ctx, top, {true, false}, bottom);
  EXPECT_EQ(r.cpu_diff()[0], 7.0);
  EXPECT_EQ(x.cpu_diff()[0], 0.0);  // outside the window
  EXPECT_EQ(x.cpu_diff()[5], 1.0);  // (1, 1) is inside
}

TEST(Crop, GradientDouble) {
  Context ctx = Context::cpu(1);
  Tensor<double> x({2, 2, 4, 5}), r({1, 1, 2, 3}), y;
  test::fill_uniform(x, -1, 1, 3);
  auto layer = test::make_layer<double>(crop_text("offset: 1 offset: 2"), ctx, {&x, &r}, {&y});
  test::GradCheck opt;
  opt.bottoms = {0};
  test::check_gradient<double>(*layer, ctx, {&x, &r}, {&y}, opt);
}

TEST(Crop, ThreadsBitwiseIdentical) {
  std::vector<std::vector<float>> out;
  for (int threads : {1, 2}) {
    Context ctx = Context::cpu(threads);
    Tensor<float> x({2, 4, 24, 20}), r({1, 1, 16, 15}), y;
    test::fill_uniform(x, -1, 1, 5);
    TensorVec<float> bottom{&x, &r}, top{&y};
    auto layer = test::make_layer<float>(crop_text("offset: 3 offset: 2"), ctx, bottom, top);
    layer->forward(ctx, bottom, top);
    std::vector<float> v(y.cpu_data(), y.cpu_data() + y.count());
    test::fill_uniform(y, -1, 1, 6);
    std::copy(y.cpu_data(), y.cpu_data() + y.count(), y.mutable_cpu_diff());
    layer->backward(ctx, top, {true, false}, bottom);
    v.insert(v.end(), x.cpu_diff(), x.cpu_diff() + x.count());
    out.push_back(std::move(v));
  }
  EXPECT_TRUE(out[0] == out[1]);
}

TEST(Crop, Errors) {
  Context ctx = Context::cpu(1);
  Tensor<float> x({2, 3, 6, 5}), r({2, 3, 4, 4}), r3({2, 3, 4}), big({2, 3, 7, 5}), y;
  auto make = [&](const std::string& p, Tensor<float>& ref) {
    return test::make_layer<float>(crop_text(p), ctx, {&x, &ref}, {&y});
  };
  EXPECT_NO_THROW(make("offset: 2 offset: 1", r));
  EXPECT_THROW(make("offset: 3", r), ShapeError);                       // 3 + 4 > 6
  EXPECT_THROW(make("offset: 0 offset: 2", r), ShapeError);             // 2 + 4 > 5 on axis 3
  EXPECT_THROW(make("", big), ShapeError);                              // reference larger than x
  EXPECT_THROW(make("offset: 1 offset: 1 offset: 1", r), ConfigError);  // 3 offsets, 2 axes
  EXPECT_THROW(make("axis: 4", r), ShapeError);
  EXPECT_THROW(make("axis: -5", r), ShapeError);
  EXPECT_THROW(test::make_layer<float>(crop_text(""), ctx, {&x, &r}, {&x}), ConfigError);
  try {
    make("", r3);
    ADD_FAILURE() << "expected ShapeError";
  } catch (const ShapeError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("2x3x4 (24)"), std::string::npos) << msg;
    EXPECT_NE(msg.find("2x3x6x5 (180)"), std::string::npos) << msg;
  }
  try {
    make("offset: 3", r);
    ADD_FAILURE() << "expected ShapeError";
  } catch (const ShapeError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("offset 3 on axis 2"), std::string::npos) << msg;
    EXPECT_NE(msg.find("2x3x4x4"), std::string::npos) << msg;
    EXPECT_NE(msg.find("2x3x6x5"), std::string::npos) << msg;
  }
}

TEST(GpuCrop, MatchesCpu) {
  CREMA_REQUIRE_GPU();
  for (const Case& c : kCases) {
    SCOPED_TRACE(c.param + " on " + shape_string(c.shape));
    // Copies and zeros only: bitwise. The reference bottom only gives a shape.
    test::expect_gpu_matches_cpu<float>(crop_text(c.param), {c.shape, c.ref_shape},
                                        {.tol = 0, .num_tops = 1, .propagate_down = {true, false}});
    test::expect_gpu_matches_cpu<double>(
        crop_text(c.param), {c.shape, c.ref_shape},
        {.tol = 0, .num_tops = 1, .propagate_down = {true, false}});
  }
  // A gradient asked of the reference is zero on both devices; none asked of x leaves dx alone.
  for (const std::vector<bool>& down : {std::vector<bool>{true, true}, {false, true}}) {
    test::expect_gpu_matches_cpu<float>(crop_text("offset: 1"), {{2, 3, 6, 5}, {1, 1, 4, 3}},
                                        {.tol = 0, .num_tops = 1, .propagate_down = down});
  }
}

}  // namespace
}  // namespace crema
