#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "ops/conv_layer.h"
#include "tests/cuda_test_util.h"
#include "tests/gpu_compare.h"
#include "tests/reference/conv_ref.h"
#include "tests/test_util.h"

namespace crema {
namespace {

using test::check_gradient;
using test::fill_uniform;
using test::GradCheck;
using test::make_layer;

// Random weights and bias so every tap and the bias show up in the output.
const char* kFillers =
    " weight_filler { type: 'uniform' min: -1 max: 1 }"
    " bias_filler { type: 'uniform' min: -1 max: 1 } ";

std::string conv_text(const std::string& params) {
  return "name: 'conv' type: 'Convolution' convolution_param { " + params + kFillers + "}";
}

struct ConvCase {
  std::string params;
  ref::ConvGeom geom;
  int64_t num_output;
  std::vector<int64_t> shape;  // bottom N, C, H, W
  std::vector<int64_t> expect_top;
  int num_bottoms = 1;
};

std::vector<ConvCase> conv_cases() {
  return {
      {"num_output: 4 kernel_size: 3", {3, 3}, 4, {2, 3, 6, 5}, {2, 4, 4, 3}},
      {"num_output: 6 kernel_size: 3 pad: 1 group: 2",
       {3, 3, 1, 1, 1, 1, 1, 1, 2},
       6,
       {2, 4, 5, 5},
       {2, 6, 5, 5}},
      {"num_output: 3 kernel_size: 3 dilation: 2",
       {3, 3, 1, 1, 0, 0, 2, 2},
       3,
       {1, 2, 7, 8},
       {1, 3, 3, 4}},
      {"num_output: 2 kernel_size: 3 stride: 2 pad: 1",
       {3, 3, 2, 2, 1, 1},
       2,
       {2, 3, 7, 6},
       {2, 2, 4, 3}},
      {"num_output: 3 kernel_h: 2 kernel_w: 3 stride_h: 1 stride_w: 2 pad_h: 1 pad_w: 0",
       {2, 3, 1, 2, 1, 0},
       3,
       {1, 2, 5, 7},
       {1, 3, 6, 3}},
      {"num_output: 2 kernel_size: 2 kernel_size: 3 stride: 2 stride: 1 pad: 0 pad: 1 "
       "dilation: 1 dilation: 2",
       {2, 3, 2, 1, 0, 1, 1, 2},
       2,
       {1, 3, 6, 6},
       {1, 2, 3, 4}},
      {"num_output: 4 kernel_size: 3 bias_term: false", {3, 3}, 4, {2, 2, 4, 4}, {2, 4, 2, 2}},
      {"num_output: 5 kernel_size: 1", {1, 1}, 5, {2, 3, 3, 4}, {2, 5, 3, 4}},
      {"num_output: 4 kernel_size: 3 pad: 1 stride: 2 group: 2",
       {3, 3, 2, 2, 1, 1, 1, 1, 2},
       4,
       {2, 4, 5, 6},
       {2, 4, 3, 3},
       2},
  };
}

template <class T>
void check_forward(const ConvCase& c, double tol) {
  SCOPED_TRACE(c.params);
  Context ctx = Context::cpu(1);
  std::vector<std::unique_ptr<Tensor<T>>> xs, ys;
  TensorVec<T> bottom, top;
  for (int b = 0; b < c.num_bottoms; ++b) {
    xs.push_back(std::make_unique<Tensor<T>>(c.shape));
    ys.push_back(std::make_unique<Tensor<T>>());
    fill_uniform(*xs.back(), -1, 1, 11 + b);
    bottom.push_back(xs.back().get());
    top.push_back(ys.back().get());
  }
  auto layer = make_layer<T>(conv_text(c.params), ctx, bottom, top);
  const bool bias = c.params.find("bias_term: false") == std::string::npos;
  ASSERT_EQ(layer->blobs().size(), bias ? 2u : 1u);
  EXPECT_EQ(layer->blobs()[0]->shape(),
            (std::vector<int64_t>{c.num_output, c.shape[1] / c.geom.group, c.geom.kernel_h,
                                  c.geom.kernel_w}));
  layer->forward(ctx, bottom, top);
  for (int b = 0; b < c.num_bottoms; ++b) {
    ASSERT_EQ(top[b]->shape(), c.expect_top);
    int64_t oh, ow;
    const auto want =
        ref::conv2d(bottom[b]->cpu_data(), c.shape[0], c.shape[1], c.shape[2], c.shape[3],
                    layer->blobs()[0]->cpu_data(), bias ? layer->blobs()[1]->cpu_data() : nullptr,
                    c.num_output, c.geom, &oh, &ow);
    ASSERT_EQ(oh, c.expect_top[2]);
    ASSERT_EQ(ow, c.expect_top[3]);
    std::vector<T> want_t(want.begin(), want.end());
    test::expect_near(top[b]->cpu_data(), want_t.data(), top[b]->count(), tol, "top");
  }
}

TEST(Conv, ForwardMatchesNaiveReferenceDouble) {
  for (const auto& c : conv_cases()) check_forward<double>(c, 1e-12);
}

TEST(Conv, ForwardMatchesNaiveReferenceFloat) {
  for (const auto& c : conv_cases()) check_forward<float>(c, 1e-5);
}

TEST(Conv, GradientDouble) {
  for (const auto& c : conv_cases()) {
    SCOPED_TRACE(c.params);
    Context ctx = Context::cpu(1);
    std::vector<std::unique_ptr<Tensor<double>>> xs, ys;
    TensorVec<double> bottom, top;
    for (int b = 0; b < c.num_bottoms; ++b) {
      xs.push_back(std::make_unique<Tensor<double>>(c.shape));
      ys.push_back(std::make_unique<Tensor<double>>());
      fill_uniform(*xs.back(), -1, 1, 21 + b);
      bottom.push_back(xs.back().get());
      top.push_back(ys.back().get());
    }
    auto layer = make_layer<double>(conv_text(c.params), ctx, bottom, top);
    check_gradient(*layer, ctx, bottom, top);
  }
}

// Backward adds to parameter diffs (the net zeroes them once per iteration): a second backward
// doubles them.
TEST(Conv, ParameterDiffsAccumulate) {
  for (const auto& c : conv_cases()) {
    SCOPED_TRACE(c.params);
    Context ctx = Context::cpu(1);
    Tensor<double> x(c.shape), y;
    fill_uniform(x, -1, 1, 3);
    TensorVec<double> bottom{&x}, top{&y};
    auto layer = make_layer<double>(conv_text(c.params), ctx, bottom, top);
    layer->forward(ctx, bottom, top);
    fill_uniform(y, -1, 1, 4);
    std::copy(y.cpu_data(), y.cpu_data() + y.count(), y.mutable_cpu_diff());
    for (auto& p : layer->blobs()) p->set_diff(0.0);
    layer->backward(ctx, top, {true}, bottom);
    std::vector<std::vector<double>> once;
    for (auto& p : layer->blobs()) {
      once.emplace_back(p->cpu_diff(), p->cpu_diff() + p->count());
      for (double& v : once.back()) v *= 2;
    }
    layer->backward(ctx, top, {true}, bottom);
    for (size_t i = 0; i < once.size(); ++i)
      test::expect_near(layer->blobs()[i]->cpu_diff(), once[i].data(), layer->blobs()[i]->count(),
                        1e-12, "param diff");
  }
}

// Only some bottoms and no parameters asked for: the other diffs stay untouched.
TEST(Conv, BackwardHonoursPropagateFlags) {
  Context ctx = Context::cpu(1);
  Tensor<double> x0({1, 2, 4, 4}), x1({1, 2, 4, 4}), y0, y1;
  fill_uniform(x0, -1, 1, 1);
  fill_uniform(x1, -1, 1, 2);
  TensorVec<double> bottom{&x0, &x1}, top{&y0, &y1};
  auto layer = make_layer<double>(conv_text("num_output: 2 kernel_size: 3"), ctx, bottom, top);
  layer->forward(ctx, bottom, top);
  y0.set_diff(1.0);
  y1.set_diff(1.0);
  x0.set_diff(5.0);
  x1.set_diff(5.0);
  layer->set_param_propagate_down(0, false);
  layer->set_param_propagate_down(1, false);
  for (auto& p : layer->blobs()) p->set_diff(3.0);
  layer->backward(ctx, top, {false, true}, bottom);
  EXPECT_EQ(x0.cpu_diff()[0], 5.0);
  EXPECT_NE(x1.cpu_diff()[0], 5.0);
  EXPECT_EQ(layer->blobs()[0]->cpu_diff()[0], 3.0);
  EXPECT_EQ(layer->blobs()[1]->cpu_diff()[0], 3.0);
}

// im2col and col2im are GATHER bodies: the result may not depend on the thread count. The shape
// is big enough (>= 2048 work items) that parallel_for really uses two threads.
TEST(Conv, ThreadCountDoesNotChangeResults) {
  const std::string text =
      conv_text("num_output: 6 kernel_size: 3 pad: 2 dilation: 2 stride: 1 group: 2");
  auto run = [&](int threads, std::vector<float>* out) {
    Context ctx = Context::cpu(threads);
    Tensor<float> x({2, 8, 16, 16}), y;
    fill_uniform(x, -1, 1, 3);
    TensorVec<float> bottom{&x}, top{&y};
    auto layer = make_layer<float>(text, ctx, bottom, top);
    layer->forward(ctx, bottom, top);
    fill_uniform(y, -1, 1, 4);
    std::copy(y.cpu_data(), y.cpu_data() + y.count(), y.mutable_cpu_diff());
    layer->backward(ctx, top, {true}, bottom);
    out->assign(y.cpu_data(), y.cpu_data() + y.count());
    out->insert(out->end(), x.cpu_diff(), x.cpu_diff() + x.count());
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

// Setting up a layer with `params` on one bottom of `shape` throws E.
template <class E>
void expect_setup_throws(const std::string& params, const std::vector<int64_t>& shape) {
  SCOPED_TRACE(params);
  Context ctx = Context::cpu(1);
  Tensor<float> x(shape), y;
  TensorVec<float> bottom{&x}, top{&y};
  EXPECT_THROW(make_layer<float>(conv_text(params), ctx, bottom, top), E);
}

TEST(Conv, BadParametersThrowConfigError) {
  const std::vector<int64_t> s{1, 4, 6, 6};
  expect_setup_throws<ConfigError>("num_output: 2 kernel_size: 0", s);
  expect_setup_throws<ConfigError>("num_output: 2 kernel_h: 3 kernel_w: 0", s);
  expect_setup_throws<ConfigError>("num_output: 2", s);  // no kernel
  expect_setup_throws<ConfigError>("num_output: 2 kernel_size: 3 kernel_h: 3 kernel_w: 3", s);
  expect_setup_throws<ConfigError>("num_output: 2 kernel_size: 1 kernel_size: 2 kernel_size: 3", s);
  expect_setup_throws<ConfigError>("num_output: 2 kernel_h: 3", s);
  expect_setup_throws<ConfigError>("num_output: 2 kernel_size: 3 stride: 0", s);
  expect_setup_throws<ConfigError>("num_output: 2 kernel_size: 3 stride_h: 0 stride_w: 1", s);
  expect_setup_throws<ConfigError>("num_output: 2 kernel_size: 3 stride_h: 2", s);
  expect_setup_throws<ConfigError>("num_output: 2 kernel_size: 3 dilation: 0", s);
  expect_setup_throws<ConfigError>("num_output: 2 kernel_size: 3 pad: 1 pad_h: 1", s);
  expect_setup_throws<ConfigError>("num_output: 0 kernel_size: 3", s);
  expect_setup_throws<ConfigError>("num_output: 3 kernel_size: 3 group: 3", s);  // C=4
  expect_setup_throws<ConfigError>("num_output: 3 kernel_size: 3 group: 2", s);  // M=3
  expect_setup_throws<ConfigError>("num_output: 2 kernel_size: 3 group: 0", s);
  expect_setup_throws<ConfigError>("num_output: 2 kernel_size: 3 axis: 2", s);
}

TEST(Conv, BadShapesThrowShapeError) {
  expect_setup_throws<ShapeError>("num_output: 2 kernel_size: 3", {1, 4, 6});        // 3-d
  expect_setup_throws<ShapeError>("num_output: 2 kernel_size: 3", {1, 4, 6, 6, 6});  // 3-d spatial
  expect_setup_throws<ShapeError>("num_output: 2 kernel_size: 5", {1, 4, 4, 6});     // too small
  expect_setup_throws<ShapeError>("num_output: 2 kernel_size: 3 dilation: 3", {1, 4, 6, 6});
  {
    Context ctx = Context::cpu(1);
    Tensor<float> x({1, 1, 2, 2}), y;
    TensorVec<float> bottom{&x}, top{&y};
    std::string msg;
    try {
      make_layer<float>(conv_text("num_output: 2 kernel_size: 3"), ctx, bottom, top);
    } catch (const ShapeError& e) {
      msg = e.what();
    }
    EXPECT_NE(msg.find("input HxW 2x2 too small for kernel 3x3"), std::string::npos) << msg;
  }

  Context ctx = Context::cpu(1);
  Tensor<float> x({1, 4, 6, 6}), y, y2;
  TensorVec<float> bottom{&x}, top{&y};
  auto layer = make_layer<float>(conv_text("num_output: 2 kernel_size: 3"), ctx, bottom, top);
  x.reshape({1, 3, 6, 6});  // channels changed after setup
  EXPECT_THROW(layer->forward(ctx, bottom, top), ShapeError);

  TensorVec<float> two_top{&y, &y2};
  Tensor<float> a({1, 4, 6, 6}), b({1, 4, 6, 5});
  TensorVec<float> mismatched{&a, &b};
  EXPECT_THROW(
      make_layer<float>(conv_text("num_output: 2 kernel_size: 3"), ctx, mismatched, two_top),
      ShapeError);
  TensorVec<float> one_top{&y};
  EXPECT_THROW(
      make_layer<float>(conv_text("num_output: 2 kernel_size: 3"), ctx, mismatched, one_top),
      ConfigError);
}

// The cuDNN path against the CPU path: every case above (groups, stride, pad, dilation, per-axis
// settings, no bias, two bottoms) plus larger ones where cuDNN picks other algorithms
// (depthwise, 5x5 strided, dilated groups, 1x1). Forward, bottom diffs and accumulated
// weight/bias diffs; 1e-4 relative in float, 1e-10 in double (algorithms differ in summation
// order; the FMA math type keeps float out of TF32). Two rounds with different batch sizes
// also exercise the per-shape algorithm cache.
TEST(GpuConv, LayerMatchesCpu) {
  CREMA_REQUIRE_GPU();
#if CREMA_WITH_CUDA
  std::vector<ConvCase> cases = conv_cases();
  cases.push_back({"num_output: 8 kernel_size: 3 pad: 1 group: 8", {}, 8, {2, 8, 9, 9}, {}});
  cases.push_back({"num_output: 16 kernel_size: 5 stride: 2 pad: 2", {}, 16, {3, 8, 17, 15}, {}});
  cases.push_back(
      {"num_output: 12 kernel_size: 3 dilation: 3 pad: 3 group: 3", {}, 12, {2, 6, 13, 11}, {}});
  cases.push_back({"num_output: 32 kernel_size: 1", {}, 32, {4, 24, 8, 8}, {}});
  for (const auto& c : cases) {
    SCOPED_TRACE(c.params);
    const std::vector<std::vector<int64_t>> shapes(static_cast<size_t>(c.num_bottoms), c.shape);
    test::expect_gpu_matches_cpu<float>(conv_text(c.params), shapes, {.tol = 1e-4});
    test::expect_gpu_matches_cpu<double>(conv_text(c.params), shapes, {.tol = 1e-10});
  }
#endif
}

// With CREMA_CUDNN_WORKSPACE_MB=0 only workspace-free algorithms may be chosen; results still
// match the CPU.
TEST(GpuConv, ZeroWorkspaceLimitStillMatchesCpu) {
  CREMA_REQUIRE_GPU();
#if CREMA_WITH_CUDA
  ::setenv("CREMA_CUDNN_WORKSPACE_MB", "0", 1);
  test::expect_gpu_matches_cpu<float>(conv_text("num_output: 8 kernel_size: 3 pad: 1 group: 2"),
                                      {{2, 4, 10, 9}}, {.tol = 1e-4});
  ::unsetenv("CREMA_CUDNN_WORKSPACE_MB");
#endif
}

}  // namespace
}  // namespace crema
