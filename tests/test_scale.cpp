#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "cuda_kernels/scale.h"
#include "ops/scale_layer.h"
#include "tests/gpu_compare.h"
#include "tests/layer_checks.h"
#include "tests/reference/scale_ref.h"
#include "tests/test_util.h"

namespace crema {
namespace {

using test::check_gradient;
using test::fill_uniform;
using test::make_layer;

std::string scale_text(const std::string& params) {
  return "name: 'scale' type: 'Scale' scale_param { " + params + " }";
}

const char* kFillers =
    " filler { type: 'uniform' min: -2 max: 2 } bias_filler { type: 'uniform' min: -1 max: 1 } ";

struct ScaleCase {
  std::string params;
  std::vector<int64_t> shape;
  std::vector<int64_t> factor;  // shape of the scale (blob or bottom 1)
  int axis;                     // canonical axis the factor starts at
  bool second_bottom = false;
  bool bias = false;
};

std::vector<ScaleCase> scale_cases() {
  return {
      {"", {2, 3, 4}, {3}, 1},
      {"axis: 0 num_axes: -1", {2, 3, 4}, {2, 3, 4}, 0},
      {"axis: -2 num_axes: 2", {2, 3, 4, 5}, {4, 5}, 2},
      {"num_axes: 0", {2, 3, 2}, {}, 0},
      {"axis: 2 num_axes: 1 bias_term: true", {2, 3, 4}, {4}, 2, false, true},
      {"axis: 0 num_axes: 2 bias_term: true", {2, 3, 4}, {2, 3}, 0, false, true},
      {"axis: 0", {4, 3}, {4}, 0, true},  // UntrimmedNet: one weight per clip
      {"", {2, 3, 2, 2}, {3, 2}, 1, true},
      {"axis: -1", {2, 3, 4}, {4}, 2, true},
      {"", {2, 3}, {}, 0, true},
      {"bias_term: true", {2, 3, 2}, {3}, 1, true, true},
  };
}

// Builds bottoms for a case (x, and the scale when it is a bottom) with random values.
template <class T>
struct Fixture {
  Tensor<T> x, s, y;
  TensorVec<T> bottom, top;
  explicit Fixture(const ScaleCase& c, uint64_t seed) : x(c.shape), s(c.factor) {
    fill_uniform(x, -1, 1, seed);
    fill_uniform(s, -2, 2, seed + 1);
    bottom = {&x};
    if (c.second_bottom) bottom.push_back(&s);
    top = {&y};
  }
};

template <class T>
void check_forward(const ScaleCase& c, double tol) {
  SCOPED_TRACE(c.params + (c.second_bottom ? " (scale bottom)" : ""));
  Context ctx = Context::cpu(1);
  Fixture<T> f(c, 3);
  auto layer = make_layer<T>(scale_text(c.params + kFillers), ctx, f.bottom, f.top);
  const size_t want_blobs = (c.second_bottom ? 0 : 1) + (c.bias ? 1 : 0);
  ASSERT_EQ(layer->blobs().size(), want_blobs);
  for (auto& b : layer->blobs()) EXPECT_EQ(b->shape(), c.factor);
  layer->forward(ctx, f.bottom, f.top);
  ASSERT_EQ(f.y.shape(), c.shape);
  const T* s = c.second_bottom ? f.s.cpu_data() : layer->blobs()[0]->cpu_data();
  const T* b = c.bias ? layer->blobs().back()->cpu_data() : nullptr;
  const auto want =
      ref::scale_bias(f.x.cpu_data(), c.shape, c.axis, static_cast<int>(c.factor.size()), s, b);
  std::vector<T> want_t(want.begin(), want.end());
  test::expect_near(f.y.cpu_data(), want_t.data(), f.y.count(), tol, "top");
}

TEST(Scale, ForwardMatchesReference) {
  for (const auto& c : scale_cases()) {
    check_forward<double>(c, 1e-14);
    check_forward<float>(c, 1e-6);
  }
}

TEST(Scale, DefaultFillersAreOneAndZero) {
  Context ctx = Context::cpu(1);
  Tensor<float> x({2, 3}), y;
  TensorVec<float> bottom{&x}, top{&y};
  auto layer = make_layer<float>(scale_text("bias_term: true"), ctx, bottom, top);
  ASSERT_EQ(layer->blobs().size(), 2u);
  EXPECT_EQ(layer->blobs()[0]->asum_data(), 3.f);
  EXPECT_EQ(layer->blobs()[1]->asum_data(), 0.f);
}

TEST(Scale, GradientDouble) {
  for (const auto& c : scale_cases()) {
    SCOPED_TRACE(c.params + (c.second_bottom ? " (scale bottom)" : ""));
    Context ctx = Context::cpu(1);
    Fixture<double> f(c, 7);
    auto layer = make_layer<double>(scale_text(c.params + kFillers), ctx, f.bottom, f.top);
    check_gradient(*layer, ctx, f.bottom, f.top);
  }
}

// A learned scale and bias accumulate their diffs; a scale bottom gets its diff written.
TEST(Scale, ParameterDiffsAccumulateBottomDiffsAreWritten) {
  for (bool second : {false, true}) {
    SCOPED_TRACE(second);
    Context ctx = Context::cpu(1);
    ScaleCase c{"bias_term: true", {2, 3, 2}, {3}, 1, second, true};
    Fixture<double> f(c, 5);
    auto layer = make_layer<double>(scale_text(c.params + kFillers), ctx, f.bottom, f.top);
    layer->forward(ctx, f.bottom, f.top);
    fill_uniform(f.y, -1, 1, 6);
    std::copy(f.y.cpu_data(), f.y.cpu_data() + f.y.count(), f.y.mutable_cpu_diff());
    for (auto& p : layer->blobs()) p->set_diff(0.0);
    std::vector<bool> down(f.bottom.size(), true);
    layer->backward(ctx, f.top, down, f.bottom);
    std::vector<std::vector<double>> once;
    for (auto& p : layer->blobs()) once.emplace_back(p->cpu_diff(), p->cpu_diff() + p->count());
    const std::vector<double> ds(f.s.cpu_diff(), f.s.cpu_diff() + f.s.count());
    layer->backward(ctx, f.top, down, f.bottom);
    for (size_t k = 0; k < once.size(); ++k) {
      for (double& v : once[k]) v *= 2;
      test::expect_near(layer->blobs()[k]->cpu_diff(), once[k].data(), 3, 1e-14, "param diff");
    }
    if (second) test::expect_near(f.s.cpu_diff(), ds.data(), 3, 0, "scale bottom diff");
  }
}

// In place the input is overwritten; the scale gradient must still see it.
TEST(Scale, InPlaceMatchesSeparateTop) {
  for (const auto& c : scale_cases()) {
    SCOPED_TRACE(c.params + (c.second_bottom ? " (scale bottom)" : ""));
    Context ctx = Context::cpu(1);
    Fixture<double> a(c, 9), b(c, 9);
    TensorVec<double> in_place = b.bottom, in_place_top{&b.x};
    auto sep = make_layer<double>(scale_text(c.params + kFillers), ctx, a.bottom, a.top);
    auto inp = make_layer<double>(scale_text(c.params + kFillers), ctx, in_place, in_place_top);
    sep->forward(ctx, a.bottom, a.top);
    inp->forward(ctx, in_place, in_place_top);
    test::expect_near(b.x.cpu_data(), a.y.cpu_data(), a.y.count(), 0, "top");
    fill_uniform(a.y, -1, 1, 10);
    std::copy(a.y.cpu_data(), a.y.cpu_data() + a.y.count(), a.y.mutable_cpu_diff());
    std::copy(a.y.cpu_data(), a.y.cpu_data() + a.y.count(), b.x.mutable_cpu_diff());
    for (auto* l : {sep.get(), inp.get()})
      for (auto& p : l->blobs()) p->set_diff(0.0);
    std::vector<bool> down(a.bottom.size(), true);
    sep->backward(ctx, a.top, down, a.bottom);
    inp->backward(ctx, in_place_top, down, in_place);
    test::expect_near(b.x.cpu_diff(), a.x.cpu_diff(), a.x.count(), 0, "bottom diff");
    if (c.second_bottom)
      test::expect_near(b.s.cpu_diff(), a.s.cpu_diff(), a.s.count(), 0, "scale bottom diff");
    for (size_t k = 0; k < sep->blobs().size(); ++k)
      test::expect_near(inp->blobs()[k]->cpu_diff(), sep->blobs()[k]->cpu_diff(),
                        sep->blobs()[k]->count(), 0, "param diff");
  }
}

TEST(Scale, ThreadCountDoesNotChangeResults) {
  for (bool second : {false, true}) {
    SCOPED_TRACE(second);
    auto run = [&](int threads, std::vector<float>* out) {
      Context ctx = Context::cpu(threads);
      ScaleCase c{"bias_term: true", {4, 300, 8}, {300}, 1, second, true};
      Fixture<float> f(c, 3);
      auto layer = make_layer<float>(scale_text(c.params + kFillers), ctx, f.bottom, f.top);
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

TEST(Scale, BadParametersThrowConfigError) {
  Context ctx = Context::cpu(1);
  Tensor<float> x({2, 3, 4}), y, s({3}), y2;
  TensorVec<float> bottom{&x}, top{&y};
  for (const char* p : {"axis: 3", "axis: -4", "num_axes: -2", "axis: 1 num_axes: 3"}) {
    SCOPED_TRACE(p);
    EXPECT_THROW(make_layer<float>(scale_text(p), ctx, bottom, top), ConfigError);
  }
  TensorVec<float> with_scale{&x, &s};
  EXPECT_THROW(make_layer<float>(scale_text("axis: 5"), ctx, with_scale, top), ConfigError);
  // Blob counts: 1 or 2 bottoms, 1 top.
  TensorVec<float> three{&x, &s, &s}, two_tops{&y, &y2};
  EXPECT_THROW(make_layer<float>(scale_text(""), ctx, three, top), ConfigError);
  EXPECT_THROW(make_layer<float>(scale_text(""), ctx, bottom, two_tops), ConfigError);
}

TEST(Scale, MismatchedScaleBottomThrowsShapeError) {
  Context ctx = Context::cpu(1);
  Tensor<float> x({2, 3, 4}), y;
  TensorVec<float> top{&y};
  for (const auto& [shape, params] : std::vector<std::pair<std::vector<int64_t>, std::string>>{
           {{4}, ""},        // axis 1 has 3 elements
           {{3, 5}, ""},     // axis 2 has 4
           {{3, 4, 1}, ""},  // past the last axis
           {{2, 3}, "axis: 1"}}) {
    SCOPED_TRACE(shape_string(shape) + " " + params);
    Tensor<float> s(shape);
    TensorVec<float> bottom{&x, &s};
    EXPECT_THROW(make_layer<float>(scale_text(params), ctx, bottom, top), ShapeError);
  }
  // The scale bottom changes shape after setup.
  Tensor<float> s({3});
  TensorVec<float> bottom{&x, &s};
  auto layer = make_layer<float>(scale_text(""), ctx, bottom, top);
  s.reshape({2});
  EXPECT_THROW(layer->forward(ctx, bottom, top), ShapeError);
  // So does the input of a learned scale.
  TensorVec<float> one{&x};
  auto learned = make_layer<float>(scale_text(""), ctx, one, top);
  x.reshape({2, 4, 4});
  EXPECT_THROW(learned->forward(ctx, one, top), ShapeError);
}

// The element form the GPU launches agrees with the row form the CPU runs, bit for bit, with and
// without a bias, on shapes with one-element axes.
TEST(Scale, ElementFormMatchesRowForm) {
  for (const kernels::BroadcastArgs a :
       {kernels::BroadcastArgs{2, 3, 5}, kernels::BroadcastArgs{1, 4, 1},
        kernels::BroadcastArgs{3, 1, 7}, kernels::BroadcastArgs{4, 6, 9}}) {
    const int64_t n = a.outer * a.dim * a.inner;
    const auto x = test::random_vector<float>(n, 201);
    const auto sc = test::random_vector<float>(a.dim, 202);
    const auto b = test::random_vector<float>(a.dim, 203);
    for (const float* bias : {static_cast<const float*>(nullptr), b.data()}) {
      std::vector<float> rows(n), elems(n);
      for (int64_t i = 0; i < a.outer * a.dim; ++i)
        kernels::scale_forward(i, a, x.data(), sc.data(), bias, rows.data());
      for (int64_t e = 0; e < n; ++e)
        kernels::scale_forward_element(e, a, x.data(), sc.data(), bias, elems.data());
      EXPECT_EQ(0, std::memcmp(rows.data(), elems.data(), n * sizeof(float)))
          << a.outer << "x" << a.dim << "x" << a.inner << (bias ? " with bias" : "");
    }
  }
}

// The layer's GPU path against its CPU path on every case (learned scale separate and in-place,
// scale bottom, with and without bias), forward, input and parameter gradients; tolerance: the
// device fuses x * s + b and the gradient sums' multiply-adds (tests/gpu_compare.h).
TEST(GpuScale, LayerMatchesCpu) {
  CREMA_REQUIRE_GPU();
  for (const auto& c : scale_cases()) {
    SCOPED_TRACE(c.params + (c.second_bottom ? " (scale bottom)" : ""));
    Fixture<float> f(c, 61);
    const std::string text = scale_text(c.params + kFillers);
    if (c.second_bottom) {
      test::expect_gpu_matches_cpu_multi<float>(text, {&f.x, &f.s}, {true, true},
                                                test::kGpuMathTol);
    } else {
      for (bool in_place : {false, true})
        test::expect_gpu_matches_cpu(text, f.x, in_place, test::kGpuMathTol);
    }
  }
}

}  // namespace
}  // namespace crema
