#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "cuda_kernels/bias.h"
#include "ops/bias_layer.h"
#include "tests/gpu_compare.h"
#include "tests/layer_checks.h"
#include "tests/reference/scale_ref.h"
#include "tests/test_util.h"

namespace crema {
namespace {

using test::check_gradient;
using test::fill_uniform;
using test::make_layer;

std::string bias_text(const std::string& params) {
  return "name: 'bias' type: 'Bias' bias_param { " + params + " }";
}

const char* kFiller = " filler { type: 'uniform' min: -2 max: 2 } ";

struct BiasCase {
  std::string params;
  std::vector<int64_t> shape;
  std::vector<int64_t> factor;
  int axis;
  bool second_bottom = false;
};

std::vector<BiasCase> bias_cases() {
  return {
      {"", {2, 3, 4}, {3}, 1},
      {"axis: 0 num_axes: -1", {2, 3, 4}, {2, 3, 4}, 0},
      {"axis: -2 num_axes: 2", {2, 3, 4, 5}, {4, 5}, 2},
      {"num_axes: 0", {2, 3, 2}, {}, 0},
      {"axis: 0", {4, 3}, {4}, 0, true},
      {"", {2, 3, 2, 2}, {3, 2}, 1, true},
      {"", {2, 3}, {}, 0, true},
  };
}

template <class T>
struct Fixture {
  Tensor<T> x, b, y;
  TensorVec<T> bottom, top;
  Fixture(const BiasCase& c, uint64_t seed) : x(c.shape), b(c.factor) {
    fill_uniform(x, -1, 1, seed);
    fill_uniform(b, -2, 2, seed + 1);
    bottom = {&x};
    if (c.second_bottom) bottom.push_back(&b);
    top = {&y};
  }
};

TEST(Bias, ForwardMatchesReference) {
  for (const auto& c : bias_cases()) {
    SCOPED_TRACE(c.params + (c.second_bottom ? " (bias bottom)" : ""));
    Context ctx = Context::cpu(1);
    Fixture<double> f(c, 3);
    auto layer = make_layer<double>(bias_text(c.params + kFiller), ctx, f.bottom, f.top);
    ASSERT_EQ(layer->blobs().size(), c.second_bottom ? 0u : 1u);
    if (!c.second_bottom) {
      EXPECT_EQ(layer->blobs()[0]->shape(), c.factor);
    }
    layer->forward(ctx, f.bottom, f.top);
    const double* b = c.second_bottom ? f.b.cpu_data() : layer->blobs()[0]->cpu_data();
    const auto want = ref::scale_bias<double>(f.x.cpu_data(), c.shape, c.axis,
                                              static_cast<int>(c.factor.size()), nullptr, b);
    test::expect_near(f.y.cpu_data(), want.data(), f.y.count(), 1e-15, "top");
  }
}

TEST(Bias, DefaultFillerIsZero) {
  Context ctx = Context::cpu(1);
  Tensor<float> x({2, 3}), y;
  TensorVec<float> bottom{&x}, top{&y};
  auto layer = make_layer<float>(bias_text(""), ctx, bottom, top);
  EXPECT_EQ(layer->blobs()[0]->asum_data(), 0.f);
}

TEST(Bias, GradientDouble) {
  for (const auto& c : bias_cases()) {
    SCOPED_TRACE(c.params + (c.second_bottom ? " (bias bottom)" : ""));
    Context ctx = Context::cpu(1);
    Fixture<double> f(c, 7);
    auto layer = make_layer<double>(bias_text(c.params + kFiller), ctx, f.bottom, f.top);
    check_gradient(*layer, ctx, f.bottom, f.top);
  }
}

TEST(Bias, LearnedBiasAccumulatesInPlaceKeepsTheDiff) {
  Context ctx = Context::cpu(1);
  Tensor<double> x({2, 3, 2}), y;
  fill_uniform(x, -1, 1, 1);
  TensorVec<double> bottom{&x}, top{&y};
  auto layer = make_layer<double>(bias_text(""), ctx, bottom, top);
  layer->forward(ctx, bottom, top);
  y.set_diff(1.0);
  layer->blobs()[0]->set_diff(0.5);
  layer->backward(ctx, top, {true}, bottom);
  // Each bias element sums 2 * 2 ones on top of 0.5.
  EXPECT_EQ(layer->blobs()[0]->cpu_diff()[1], 4.5);
  EXPECT_EQ(x.cpu_diff()[5], 1.0);

  // In place: the top diff is the bottom diff already.
  TensorVec<double> same{&x};
  auto inp = make_layer<double>(bias_text(""), ctx, same, same);
  fill_uniform(x, -1, 1, 2);
  std::vector<double> before(x.cpu_data(), x.cpu_data() + x.count());
  inp->blobs()[0]->set_data(2.0);
  inp->forward(ctx, same, same);
  EXPECT_EQ(x.cpu_data()[3], before[3] + 2.0);
  x.set_diff(3.0);
  inp->blobs()[0]->set_diff(0.0);
  inp->backward(ctx, same, {true}, same);
  EXPECT_EQ(x.cpu_diff()[0], 3.0);
  EXPECT_EQ(inp->blobs()[0]->cpu_diff()[0], 12.0);
}

TEST(Bias, ThreadCountDoesNotChangeResults) {
  for (bool second : {false, true}) {
    SCOPED_TRACE(second);
    auto run = [&](int threads, std::vector<float>* out) {
      Context ctx = Context::cpu(threads);
      BiasCase c{"", {4, 300, 8}, {300}, 1, second};
      Fixture<float> f(c, 3);
      auto layer = make_layer<float>(bias_text(c.params + kFiller), ctx, f.bottom, f.top);
      layer->forward(ctx, f.bottom, f.top);
      out->assign(f.y.cpu_data(), f.y.cpu_data() + f.y.count());
      fill_uniform(f.y, -1, 1, 4);
      std::copy(f.y.cpu_data(), f.y.cpu_data() + f.y.count(), f.y.mutable_cpu_diff());
      for (auto& p : layer->blobs()) p->set_diff(0.f);
      layer->backward(ctx, f.top, std::vector<bool>(f.bottom.size(), true), f.bottom);
      for (auto* b : f.bottom) out->insert(out->end(), b->cpu_diff(), b->cpu_diff() + b->count());
      for (auto& p : layer->blobs())
        out->insert(out->end(), p->cpu_diff(), p->cpu_diff() + p->count());
    };
    std::vector<float> one, two;
    run(1, &one);
    run(2, &two);
    Context::cpu(1);
    ASSERT_EQ(one.size(), two.size());
    EXPECT_EQ(std::memcmp(one.data(), two.data(), one.size() * sizeof(float)), 0);
  }
}

TEST(Bias, BadParametersAndShapesThrow) {
  Context ctx = Context::cpu(1);
  Tensor<float> x({2, 3, 4}), y, y2;
  TensorVec<float> bottom{&x}, top{&y};
  for (const char* p : {"axis: 3", "axis: -4", "num_axes: -2", "axis: 2 num_axes: 2"}) {
    SCOPED_TRACE(p);
    EXPECT_THROW(make_layer<float>(bias_text(p), ctx, bottom, top), ConfigError);
  }
  Tensor<float> wrong({4});
  TensorVec<float> mismatched{&x, &wrong};
  EXPECT_THROW(make_layer<float>(bias_text(""), ctx, mismatched, top), ShapeError);
  TensorVec<float> three{&x, &wrong, &wrong}, two_tops{&y, &y2};
  EXPECT_THROW(make_layer<float>(bias_text(""), ctx, three, top), ConfigError);
  EXPECT_THROW(make_layer<float>(bias_text(""), ctx, bottom, two_tops), ConfigError);
}

// The element form the GPU launches agrees with the row form the CPU runs, bit for bit, on
// shapes with one-element axes.
TEST(Bias, ElementFormMatchesRowForm) {
  for (const kernels::BroadcastArgs a :
       {kernels::BroadcastArgs{2, 3, 5}, kernels::BroadcastArgs{1, 4, 1},
        kernels::BroadcastArgs{3, 1, 7}, kernels::BroadcastArgs{4, 6, 9}}) {
    const int64_t n = a.outer * a.dim * a.inner;
    const auto x = test::random_vector<float>(n, 211);
    const auto b = test::random_vector<float>(a.dim, 212);
    std::vector<float> rows(n), elems(n);
    for (int64_t i = 0; i < a.outer * a.dim; ++i)
      kernels::bias_forward(i, a, x.data(), b.data(), rows.data());
    for (int64_t e = 0; e < n; ++e)
      kernels::bias_forward_element(e, a, x.data(), b.data(), elems.data());
    EXPECT_EQ(0, std::memcmp(rows.data(), elems.data(), n * sizeof(float)))
        << a.outer << "x" << a.dim << "x" << a.inner;
  }
}

// The layer's GPU path against its CPU path on every case (learned bias separate and in-place,
// bias bottom), forward, input and bias gradients: bitwise, since the bodies only add.
TEST(GpuBias, LayerMatchesCpu) {
  CREMA_REQUIRE_GPU();
  for (const auto& c : bias_cases()) {
    SCOPED_TRACE(c.params + (c.second_bottom ? " (bias bottom)" : ""));
    Fixture<float> f(c, 61);
    const std::string text = bias_text(c.params + kFiller);
    if (c.second_bottom) {
      test::expect_gpu_matches_cpu_multi<float>(text, {&f.x, &f.b}, {true, true}, 0);
    } else {
      for (bool in_place : {false, true}) test::expect_gpu_matches_cpu(text, f.x, in_place, 0);
    }
  }
}

}  // namespace
}  // namespace crema
