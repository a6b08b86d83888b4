#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "ops/conv_geometry.h"
#include "ops/deconv_layer.h"
#include "tests/cuda_test_util.h"
#include "tests/gpu_compare.h"
#include "tests/reference/deconv_ref.h"
#include "tests/test_util.h"

namespace crema {
namespace {

using test::check_gradient;
using test::fill_uniform;
using test::make_layer;

const char* kFillers =
    " weight_filler { type: 'uniform' min: -1 max: 1 }"
    " bias_filler { type: 'uniform' min: -1 max: 1 } ";

std::string deconv_text(const std::string& params, const char* fillers = kFillers) {
  return "name: 'deconv' type: 'Deconvolution' convolution_param { " + params + fillers + "}";
}

struct DeconvCase {
  std::string params;
  ref::DeconvGeom geom;
  int64_t num_output;
  std::vector<int64_t> shape;  // bottom N, C, H, W
  std::vector<int64_t> expect_top;
  int num_bottoms = 1;
};

std::vector<DeconvCase> deconv_cases() {
  return {
      {"num_output: 3 kernel_size: 3", {3, 3}, 3, {2, 2, 4, 5}, {2, 3, 6, 7}},
      {"num_output: 2 kernel_size: 4 stride: 2 pad: 1",
       {4, 4, 2, 2, 1, 1},
       2,
       {2, 3, 3, 4},
       {2, 2, 6, 8}},
      {"num_output: 4 kernel_size: 3 stride: 2 pad: 1 group: 2",
       {3, 3, 2, 2, 1, 1, 1, 1, 2},
       4,
       {2, 4, 3, 3},
       {2, 4, 5, 5}},
      {"num_output: 2 kernel_size: 3 dilation: 2",
       {3, 3, 1, 1, 0, 0, 2, 2},
       2,
       {1, 3, 3, 4},
       {1, 2, 7, 8}},
      {"num_output: 3 kernel_h: 2 kernel_w: 3 stride_h: 3 stride_w: 2 pad_h: 1 pad_w: 0",
       {2, 3, 3, 2, 1, 0},
       3,
       {1, 2, 3, 4},
       {1, 3, 6, 9}},
      {"num_output: 2 kernel_size: 3 kernel_size: 2 stride: 1 stride: 2 pad: 1 pad: 0 "
       "dilation: 2 dilation: 1",
       {3, 2, 1, 2, 1, 0, 2, 1},
       2,
       {2, 2, 3, 3},
       {2, 2, 5, 6}},
      {"num_output: 4 kernel_size: 2 stride: 2 bias_term: false",
       {2, 2, 2, 2},
       4,
       {2, 3, 3, 2},
       {2, 4, 6, 4}},
      {"num_output: 6 kernel_size: 1 group: 3",
       {1, 1, 1, 1, 0, 0, 1, 1, 3},
       6,
       {2, 3, 2, 3},
       {2, 6, 2, 3}},
      {"num_output: 2 kernel_size: 3 stride: 2 pad: 1 group: 2",
       {3, 3, 2, 2, 1, 1, 1, 1, 2},
       2,
       {2, 2, 3, 2},
       {2, 2, 5, 3},
       2},
  };
}

template <class T>
void check_forward(const DeconvCase& c, double tol) {
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
  auto layer = make_layer<T>(deconv_text(c.params), ctx, bottom, top);
  const bool bias = c.params.find("bias_term: false") == std::string::npos;
  ASSERT_EQ(layer->blobs().size(), bias ? 2u : 1u);
  // Caffe's layout: (input channels, num_output / group, kh, kw).
  EXPECT_EQ(layer->blobs()[0]->shape(),
            (std::vector<int64_t>{c.shape[1], c.num_output / c.geom.group, c.geom.kernel_h,
                                  c.geom.kernel_w}));
  layer->forward(ctx, bottom, top);
  for (int b = 0; b < c.num_bottoms; ++b) {
    ASSERT_EQ(top[b]->shape(), c.expect_top);
    int64_t oh, ow;
    const auto want =
        ref::deconv2d(bottom[b]->cpu_data(), c.shape[0], c.shape[1], c.shape[2], c.shape[3],
                      layer->blobs()[0]->cpu_data(), bias ? layer->blobs()[1]->cpu_data() : nullptr,
                      c.num_output, c.geom, &oh, &ow);
    ASSERT_EQ(oh, c.expect_top[2]);
    ASSERT_EQ(ow, c.expect_top[3]);
    std::vector<T> want_t(want.begin(), want.end());
    test::expect_near(top[b]->cpu_data(), want_t.data(), top[b]->count(), tol, "top");
  }
}

TEST(Deconv, ForwardMatchesNaiveReferenceDouble) {
  for (const auto& c : deconv_cases()) check_forward<double>(c, 1e-12);
}

TEST(Deconv, ForwardMatchesNaiveReferenceFloat) {
  for (const auto& c : deconv_cases()) check_forward<float>(c, 1e-5);
}

TEST(Deconv, GradientDouble) {
  for (const auto& c : deconv_cases()) {
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
    auto layer = make_layer<double>(deconv_text(c.params), ctx, bottom, top);
    check_gradient(*layer, ctx, bottom, top);
  }
}

// Parameter diffs accumulate over backward calls (the net zeroes them once per iteration).
TEST(Deconv, ParameterDiffsAccumulate) {
  Context ctx = Context::cpu(1);
  Tensor<double> x({2, 4, 3, 3}), y;
  fill_uniform(x, -1, 1, 3);
  TensorVec<double> bottom{&x}, top{&y};
  auto layer = make_layer<double>(
      deconv_text("num_output: 4 kernel_size: 3 stride: 2 pad: 1 group: 2"), ctx, bottom, top);
  layer->forward(ctx, bottom, top);
  fill_uniform(y, -1, 1, 4);
  std::copy(y.cpu_data(), y.cpu_data() + y.count(), y.mutable_cpu_diff());
  for (auto& p : layer->blobs()) p->set_diff(0.0);
  layer->backward(ctx, top, {true}, bottom);
  std::vector<std::vector<double>> twice;
  for (auto& p : layer->blobs()) {
    twice.emplace_back(p->cpu_diff(), p->cpu_diff() + p->count());
    for (double& v : twice.back()) v *= 2;
  }
  layer->backward(ctx, top, {true}, bottom);
  for (size_t i = 0; i < twice.size(); ++i)
    test::expect_near(layer->blobs()[i]->cpu_diff(), twice[i].data(), layer->blobs()[i]->count(),
                      1e-12, "param diff");
}

TEST(Deconv, BackwardHonoursPropagateFlags) {
  Context ctx = Context::cpu(1);
  Tensor<double> x0({1, 2, 3, 3}), x1({1, 2, 3, 3}), y0, y1;
  fill_uniform(x0, -1, 1, 1);
  fill_uniform(x1, -1, 1, 2);
  TensorVec<double> bottom{&x0, &x1}, top{&y0, &y1};
  auto layer = make_layer<double>(deconv_text("num_output: 2 kernel_size: 3"), ctx, bottom, top);
  layer->forward(ctx, bottom, top);
  y0.set_diff(1.0);
  y1.set_diff(1.0);
  x0.set_diff(5.0);
  x1.set_diff(5.0);
  layer->set_param_propagate_down(0, false);
  for (auto& p : layer->blobs()) p->set_diff(3.0);
  layer->backward(ctx, top, {false, true}, bottom);
  EXPECT_EQ(x0.cpu_diff()[0], 5.0);
  EXPECT_NE(x1.cpu_diff()[0], 5.0);
  EXPECT_EQ(layer->blobs()[0]->cpu_diff()[0], 3.0);
  // The bias diff still accumulates: 3 + 2 tops * 5 * 5 pixels of ones.
  EXPECT_EQ(layer->blobs()[1]->cpu_diff()[0], 3.0 + 50.0);
}

// FCN-style upsampling: factor 2 with a 4x4 bilinear kernel, stride 2, pad 1, one group per
// channel. A constant image stays constant away from the border, and a linear ramp stays linear
// (bilinear interpolation reproduces linear functions).
TEST(Deconv, BilinearFillerUpsamples) {
  Context ctx = Context::cpu(1);
  const int64_t c = 3, h = 5, w = 6;
  Tensor<double> x({1, c, h, w}), y;
  TensorVec<double> bottom{&x}, top{&y};
  auto layer = make_layer<double>(
      deconv_text("num_output: 3 group: 3 kernel_size: 4 stride: 2 pad: 1 bias_term: false",
                  " weight_filler { type: 'bilinear' } "),
      ctx, bottom, top);
  ASSERT_EQ(layer->blobs()[0]->shape(), (std::vector<int64_t>{3, 1, 4, 4}));
  for (int64_t k = 0; k < c; ++k)
    for (int64_t i = 0; i < h * w; ++i) x.mutable_cpu_data()[k * h * w + i] = 1.5 + k;
  layer->forward(ctx, bottom, top);
  ASSERT_EQ(y.shape(), (std::vector<int64_t>{1, c, 2 * h, 2 * w}));
  const int64_t oh = 2 * h, ow = 2 * w;
  for (int64_t k = 0; k < c; ++k)
    for (int64_t i = 1; i < oh - 1; ++i)
      for (int64_t j = 1; j < ow - 1; ++j)
        EXPECT_NEAR(y.cpu_data()[(k * oh + i) * ow + j], 1.5 + k, 1e-12)
            << k << " " << i << " " << j;
  // The border only gets the 0.75 tap from one side.
  EXPECT_NEAR(y.cpu_data()[0], 1.5 * 0.75 * 0.75, 1e-12);

  // Ramp along W: x = j. Output column j' sits at input coordinate (j' - 0.5) / 2.
  for (int64_t k = 0; k < c; ++k)
    for (int64_t i = 0; i < h; ++i)
      for (int64_t j = 0; j < w; ++j) x.mutable_cpu_data()[(k * h + i) * w + j] = j;
  layer->forward(ctx, bottom, top);
  for (int64_t i = 1; i < oh - 1; ++i)
    for (int64_t j = 1; j < ow - 1; ++j)
      EXPECT_NEAR(y.cpu_data()[i * ow + j], (j - 0.5) / 2, 1e-12) << i << " " << j;
}

// Transposed convolution is the adjoint of convolution: <deconv(x), z> = <x, conv(z)> with the
// same weights (Deconvolution's (C, M, kh, kw) is Convolution's (out, in, kh, kw) layout).
TEST(Deconv, IsTheAdjointOfConvolution) {
  Context ctx = Context::cpu(1);
  const std::string geom = "kernel_size: 3 stride: 2 pad: 1 dilation: 1 group: 2 bias_term: false";
  Tensor<double> x({2, 4, 3, 4}), y;
  fill_uniform(x, -1, 1, 5);
  TensorVec<double> db{&x}, dt{&y};
  auto deconv = make_layer<double>(deconv_text("num_output: 6 " + geom), ctx, db, dt);
  deconv->forward(ctx, db, dt);
  Tensor<double> z(y.shape()), cz;
  fill_uniform(z, -1, 1, 6);
  TensorVec<double> cb{&z}, ct{&cz};
  auto conv = make_layer<double>(
      "name: 'conv' type: 'Convolution' convolution_param { num_output: 4 " + geom + " }", ctx, cb,
      ct);
  ASSERT_EQ(conv->blobs()[0]->shape(), deconv->blobs()[0]->shape());
  conv->blobs()[0]->copy_from(*deconv->blobs()[0]);
  conv->forward(ctx, cb, ct);
  ASSERT_EQ(cz.shape(), x.shape());
  double lhs = 0, rhs = 0;
  for (int64_t i = 0; i < y.count(); ++i) lhs += y.cpu_data()[i] * z.cpu_data()[i];
  for (int64_t i = 0; i < x.count(); ++i) rhs += x.cpu_data()[i] * cz.cpu_data()[i];
  EXPECT_NEAR(lhs, rhs, 1e-10);
}

TEST(Deconv, ChunkSizeKeepsTheColumnBudget) {
  EXPECT_EQ(conv_chunk_size(1, 5), 5);
  EXPECT_EQ(conv_chunk_size(int64_t{1} << 23, 5), 2);
  EXPECT_EQ(conv_chunk_size(int64_t{1} << 25, 5), 1);
  EXPECT_EQ(conv_chunk_size(10, 0), 1);
}

// col2im, im2col and the layout swaps are GATHER bodies: the thread count may not change any
// bit. The shape gives thousands of work items, so two threads really run.
TEST(Deconv, ThreadCountDoesNotChangeResults) {
  const std::string text =
      deconv_text("num_output: 6 kernel_size: 3 pad: 1 dilation: 2 stride: 2 group: 2");
  auto run = [&](int threads, std::vector<float>* out) {
    Context ctx = Context::cpu(threads);
    Tensor<float> x({2, 8, 12, 12}), y;
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

template <class E>
void expect_setup_throws(const std::string& params, const std::vector<int64_t>& shape) {
  SCOPED_TRACE(params);
  Context ctx = Context::cpu(1);
  Tensor<float> x(shape), y;
  TensorVec<float> bottom{&x}, top{&y};
  EXPECT_THROW(make_layer<float>(deconv_text(params), ctx, bottom, top), E);
}

TEST(Deconv, BadParametersThrowConfigError) {
  const std::vector<int64_t> s{1, 4, 3, 3};
  expect_setup_throws<ConfigError>("num_output: 2 kernel_size: 0", s);
  expect_setup_throws<ConfigError>("num_output: 2", s);  // no kernel
  expect_setup_throws<ConfigError>("num_output: 2 kernel_size: 3 kernel_h: 3 kernel_w: 3", s);
  expect_setup_throws<ConfigError>("num_output: 2 kernel_size: 3 stride: 0", s);
  expect_setup_throws<ConfigError>("num_output: 2 kernel_size: 3 dilation: 0", s);
  expect_setup_throws<ConfigError>("num_output: 0 kernel_size: 3", s);
  expect_setup_throws<ConfigError>("num_output: 3 kernel_size: 3 group: 3", s);  // C=4
  expect_setup_throws<ConfigError>("num_output: 3 kernel_size: 3 group: 2", s);  // M=3
  expect_setup_throws<ConfigError>("num_output: 2 kernel_size: 3 group: 0", s);
  expect_setup_throws<ConfigError>("num_output: 2 kernel_size: 3 axis: 2", s);
}

TEST(Deconv, BadShapesAndBlobCountsThrow) {
  expect_setup_throws<ShapeError>("num_output: 2 kernel_size: 3", {1, 4, 6});        // 3-d
  expect_setup_throws<ShapeError>("num_output: 2 kernel_size: 3", {1, 4, 3, 3, 3});  // 5-d
  // 1 * (1 - 1) + 1 - 2 * 1 < 1: no output pixel left.
  expect_setup_throws<ShapeError>("num_output: 2 kernel_size: 1 pad: 1", {1, 4, 1, 1});

  Context ctx = Context::cpu(1);
  Tensor<float> x({1, 4, 3, 3}), y, y2;
  TensorVec<float> bottom{&x}, top{&y};
  auto layer = make_layer<float>(deconv_text("num_output: 2 kernel_size: 3"), ctx, bottom, top);
  x.reshape({1, 3, 3, 3});  // channels changed after setup
  EXPECT_THROW(layer->forward(ctx, bottom, top), ShapeError);

  Tensor<float> a({1, 4, 3, 3}), b({1, 4, 3, 2});
  TensorVec<float> mismatched{&a, &b}, two_top{&y, &y2}, one_top{&y};
  EXPECT_THROW(
      make_layer<float>(deconv_text("num_output: 2 kernel_size: 3"), ctx, mismatched, two_top),
      ShapeError);
  EXPECT_THROW(
      make_layer<float>(deconv_text("num_output: 2 kernel_size: 3"), ctx, mismatched, one_top),
      ConfigError);
  TensorVec<float> in_place{&a};
  EXPECT_THROW(
      make_layer<float>(deconv_text("num_output: 2 kernel_size: 3"), ctx, in_place, in_place),
      ConfigError);
}

// The cuDNN path (the equivalent convolution's passes, roles swapped) against the CPU path on
// every case above (groups, stride, pad, dilation, per-axis settings, no bias, two bottoms)
// plus a larger upsampling one. Forward, bottom diffs and accumulated weight/bias diffs; 1e-4
// relative in float, 1e-10 in double. Two rounds with different batch sizes.
TEST(GpuDeconv, LayerMatchesCpu) {
  CREMA_REQUIRE_GPU();
#if CREMA_WITH_CUDA
  std::vector<DeconvCase> cases = deconv_cases();
  cases.push_back(
      {"num_output: 16 kernel_size: 4 stride: 2 pad: 1 group: 4", {}, 16, {2, 8, 9, 7}, {}});
  for (const auto& c : cases) {
    SCOPED_TRACE(c.params);
    const std::vector<std::vector<int64_t>> shapes(static_cast<size_t>(c.num_bottoms), c.shape);
    test::expect_gpu_matches_cpu<float>(deconv_text(c.params), shapes, {.tol = 1e-4});
    test::expect_gpu_matches_cpu<double>(deconv_text(c.params), shapes, {.tol = 1e-10});
  }
#endif
}

}  // namespace
}  // namespace crema
