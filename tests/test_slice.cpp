#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "tests/cuda_test_util.h"
#include "tests/reference/slice_ref.h"
#include "tests/test_util.h"

namespace crema {
namespace {

std::string slice_text(const std::string& param) {
  return "name: 'slice' type: 'Slice' slice_param { " + param + " }";
}

template <class T>
std::vector<double> to_vec(const Tensor<T>& t, bool diff = false) {
  const T* p = diff ? t.cpu_diff() : t.cpu_data();
  return std::vector<double>(p, p + t.count());
}

struct Case {
  std::string param;
  std::vector<int64_t> shape;
  int axis;                    // canonical
  std::vector<int64_t> sizes;  // expected top sizes along the axis
};

const std::vector<Case> kCases = {
    {"", {2, 6, 3}, 1, {2, 2, 2}},
    {"slice_point: 1 slice_point: 4", {2, 6, 3}, 1, {1, 3, 2}},
    {"axis: 0 slice_point: 1", {4, 3}, 0, {1, 3}},
    {"axis: -1 slice_point: 1 slice_point: 3", {2, 3, 4}, 2, {1, 2, 1}},
    {"slice_dim: 2 slice_point: 2", {2, 3, 5, 2}, 2, {2, 3}},
    {"axis: 3", {2, 1, 2, 4}, 3, {1, 1, 1, 1}},
};

template <class T>
void check_case(const Case& c) {
  SCOPED_TRACE(c.param + " on " + shape_string(c.shape));
  Context ctx = Context::cpu(1);
  Tensor<T> x(c.shape);
  test::fill_uniform(x, -1, 1, 11);
  std::vector<std::unique_ptr<Tensor<T>>> tops;
  TensorVec<T> top;
  for (size_t k = 0; k < c.sizes.size(); ++k) {
    tops.push_back(std::make_unique<Tensor<T>>());
    top.push_back(tops.back().get());
  }
  TensorVec<T> bottom{&x};
  auto layer = test::make_layer<T>(slice_text(c.param), ctx, bottom, top);
  layer->forward(ctx, bottom, top);
  const auto want = ref::slice_forward(to_vec(x), c.shape, c.axis, c.sizes);
  for (size_t k = 0; k < top.size(); ++k) {
    std::vector<int64_t> shape = c.shape;
    shape[c.axis] = c.sizes[k];
    ASSERT_EQ(top[k]->shape(), shape) << "top " << k;
    const std::vector<T> w(want[k].begin(), want[k].end());
    test::expect_near(top[k]->cpu_data(), w.data(), top[k]->count(), 0.0, "slice y");
  }
  // Backward: slicing the bottom diff again must give back each top diff.
  for (size_t k = 0; k < top.size(); ++k) test::fill_uniform(*top[k], -1, 1, 20 + k);
  for (auto* t : top) std::copy(t->cpu_data(), t->cpu_data() + t->count(), t->mutable_cpu_diff());
  x.set_diff(T(7));
  layer->backward(ctx, top, {true}, bottom);
  const auto back = ref::slice_forward(to_vec(x, true), c.shape, c.axis, c.sizes);
  for (size_t k = 0; k < top.size(); ++k) {
    const std::vector<T> w(back[k].begin(), back[k].end());
    test::expect_near(top[k]->cpu_diff(), w.data(), top[k]->count(), 0.0, "slice dx");
  }
}

TEST(Slice, ForwardBackwardMatchReference) {
  for (const Case& c : kCases) {
    check_case<float>(c);
    check_case<double>(c);
  }
}

TEST(Slice, SingleTopSharesTheBottom) {
  Context ctx = Context::cpu(1);
  Tensor<double> x({2, 3}), y;
  test::fill_uniform(x, -1, 1, 1);
  auto layer = test::make_layer<double>(slice_text(""), ctx, {&x}, {&y});
  layer->forward(ctx, {&x}, {&y});
  EXPECT_EQ(y.shape(), x.shape());
  EXPECT_TRUE(y.shares_data_with(x));
  y.mutable_cpu_diff()[4] = 2.5;
  layer->backward(ctx, {&y}, {true}, {&x});
  EXPECT_EQ(x.cpu_diff()[4], 2.5);
}

TEST(Slice, GradientDouble) {
  Context ctx = Context::cpu(1);
  Tensor<double> x({2, 5, 3}), a, b, c;
  test::fill_uniform(x, -1, 1, 3);
  auto layer = test::make_layer<double>(slice_text("slice_point: 1 slice_point: 3"), ctx, {&x},
                                        {&a, &b, &c});
  test::check_gradient<double>(*layer, ctx, {&x}, {&a, &b, &c});
}

TEST(Slice, ThreadsBitwiseIdentical) {
  std::vector<std::vector<float>> out;
  for (int threads : {1, 2}) {
    Context ctx = Context::cpu(threads);
    Tensor<float> x({4, 64, 32}), a, b;
    test::fill_uniform(x, -1, 1, 5);
    TensorVec<float> bottom{&x}, top{&a, &b};
    auto layer = test::make_layer<float>(slice_text("slice_point: 24"), ctx, bottom, top);
    layer->forward(ctx, bottom, top);
    test::fill_uniform(a, -1, 1, 6);
    test::fill_uniform(b, -1, 1, 7);
    for (auto* t : top) std::copy(t->cpu_data(), t->cpu_data() + t->count(), t->mutable_cpu_diff());
    layer->forward(ctx, bottom, top);
    layer->backward(ctx, top, {true}, bottom);
    std::vector<float> v(a.cpu_data(), a.cpu_data() + a.count());
    v.insert(v.end(), b.cpu_data(), b.cpu_data() + b.count());
    v.insert(v.end(), x.cpu_diff(), x.cpu_diff() + x.count());
    out.push_back(std::move(v));
  }
  EXPECT_TRUE(out[0] == out[1]);
}

TEST(Slice, Errors) {
  Context ctx = Context::cpu(1);
  Tensor<float> x({2, 6, 4}), a, b, c;
  TensorVec<float> two{&a, &b}, three{&a, &b, &c};
  auto make = [&](const std::string& p, const TensorVec<float>& top) {
    return test::make_layer<float>(slice_text(p), ctx, {&x}, top);
  };
  EXPECT_THROW(make("axis: 1 slice_dim: 1", two), ConfigError);
  EXPECT_THROW(make("slice_point: 2", three), ConfigError);                 // too few points
  EXPECT_THROW(make("slice_point: 2 slice_point: 4", two), ConfigError);    // too many points
  EXPECT_THROW(make("slice_point: 3 slice_point: 3", three), ConfigError);  // not increasing
  EXPECT_THROW(make("slice_point: 4 slice_point: 2", three), ConfigError);
  EXPECT_THROW(make("slice_point: 0", two), ConfigError);
  EXPECT_THROW(make("slice_point: 6", two), ShapeError);  // at the end: an empty last part
  EXPECT_THROW(make("slice_point: 9", two), ShapeError);
  EXPECT_THROW(make("axis: 2", three), ShapeError);  // 4 does not split in 3
  EXPECT_THROW(make("axis: 3", two), ShapeError);
  EXPECT_THROW(make("axis: -4", two), ShapeError);
  EXPECT_THROW(make("slice_dim: 3", two), ShapeError);
  EXPECT_THROW(test::make_layer<float>(slice_text(""), ctx, {&x}, {&x, &a}), ConfigError);
  EXPECT_THROW(test::make_layer<float>(slice_text(""), ctx, {&x}, {}), ConfigError);
  try {
    make("slice_point: 7", two);
    ADD_FAILURE() << "expected ShapeError";
  } catch (const ShapeError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("slice_point 7"), std::string::npos) << msg;
    EXPECT_NE(msg.find("2x6x4"), std::string::npos) << msg;
  }
  // A later reshape that breaks the slice points is caught too.
  auto layer = make("slice_point: 5", two);
  x.reshape({2, 5, 4});
  EXPECT_THROW(layer->forward(ctx, {&x}, two), ShapeError);
}

// The GPU path against the CPU, three tops along the channel axis: bitwise (copies only).
TEST(GpuSlice, LayerMatchesCpu) {
  CREMA_REQUIRE_GPU();
  std::vector<std::vector<float>> out;
  for (bool gpu : {false, true}) {
    Context ctx = gpu ? Context::gpu(0, 1) : Context::cpu(1);
    Tensor<float> x({2, 6, 3, 4}), a, b, c;
    test::fill_uniform(x, -1, 1, 141);
    auto layer = test::make_layer<float>(slice_text("slice_point: 1 slice_point: 4"), ctx, {&x},
                                         {&a, &b, &c});
    layer->forward(ctx, {&x}, {&a, &b, &c});
    uint64_t seed = 142;
    for (auto* t : {&a, &b, &c}) {
      const auto v = test::random_vector<float>(t->count(), seed++);
      std::copy(v.begin(), v.end(), t->mutable_cpu_diff());
    }
    layer->backward(ctx, {&a, &b, &c}, {true}, {&x});
    out.emplace_back();
    for (auto* t : {&a, &b, &c})
      out.back().insert(out.back().end(), t->cpu_data(), t->cpu_data() + t->count());
    out.back().insert(out.back().end(), x.cpu_diff(), x.cpu_diff() + x.count());
  }
  EXPECT_EQ(out[0], out[1]);
}

}  // namespace
}  // namespace crema
