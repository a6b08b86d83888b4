#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "core/io.h"
#include "ops/locally_connected_layer.h"
#include "tests/cuda_test_util.h"
#include "tests/gpu_compare.h"
#include "tests/layer_checks.h"
#include "tests/reference/locally_connected_ref.h"
#include "tests/test_util.h"

namespace crema {
namespace {

using test::check_gradient;
using test::fill_uniform;
using test::make_layer;

template <class T>
const LocallyConnectedLayer<T>& as_local(const std::unique_ptr<Layer<T>>& layer) {
  return dynamic_cast<const LocallyConnectedLayer<T>&>(*layer);
}

std::string lc_text(const std::string& params) {
  return "name: 'local' type: 'LocallyConnected' locally_connected_param { " + params +
         " weight_filler { type: 'gaussian' std: 0.5 } bias_filler { type: 'uniform' min: -1 "
         "max: 1 } }";
}

struct LcCase {
  std::string params;
  ref::LocalGeom geom;
  std::vector<int64_t> shape;
  int64_t out_h, out_w;
  bool bias = true;
};

std::vector<LcCase> lc_cases() {
  return {
      {"num_output: 4 kernel_size: 3 pad: 1", {4, 3, 1, 1}, {2, 3, 5, 6}, 5, 6},
      {"num_output: 3 kernel_size: 2 stride: 2", {3, 2, 2, 0}, {3, 2, 7, 7}, 3, 3},
      {"num_output: 3 kernel_size: 3 stride: 2 pad: 1 bias_term: false",
       {3, 3, 2, 1},
       {2, 2, 6, 5},
       3,
       3,
       false},
      // DeepID conv4: 2x2 kernel on a 3x2 map gives 2x1 positions.
      {"num_output: 5 kernel_size: 2", {5, 2, 1, 0}, {2, 4, 3, 2}, 2, 1},
      {"num_output: 2 kernel_size: 1", {2, 1, 1, 0}, {2, 3, 3, 4}, 3, 4},
  };
}

template <class T>
void check_against_reference(const LcCase& c, double tol) {
  SCOPED_TRACE(c.params);
  Context ctx = Context::cpu(1);
  Tensor<T> x(c.shape), y;
  fill_uniform(x, -1, 1, 3);
  TensorVec<T> bottom{&x}, top{&y};
  auto layer = make_layer<T>(lc_text(c.params), ctx, bottom, top);
  ASSERT_EQ(layer->blobs().size(), c.bias ? 2u : 1u);
  const int64_t positions = c.out_h * c.out_w, taps = c.shape[1] * c.geom.kernel * c.geom.kernel;
  ASSERT_EQ(layer->blobs()[0]->shape(), (std::vector<int64_t>{positions, c.geom.num_output, taps}));
  if (c.bias) {
    ASSERT_EQ(layer->blobs()[1]->shape(),
              (std::vector<int64_t>{c.geom.num_output, c.out_h, c.out_w}));
  }
  layer->forward(ctx, bottom, top);
  ASSERT_EQ(y.shape(), (std::vector<int64_t>{c.shape[0], c.geom.num_output, c.out_h, c.out_w}));
  const auto dy = test::random_values<T>(y.count(), 4);
  std::copy(dy.begin(), dy.end(), y.mutable_cpu_diff());
  x.set_diff(T(7));
  for (auto& p : layer->blobs()) p->set_diff(T(0));
  layer->backward(ctx, top, {true}, bottom);
  const std::vector<double> dyd(dy.begin(), dy.end());
  const auto want = ref::local_conv(x.cpu_data(), layer->blobs()[0]->cpu_data(),
                                    c.bias ? layer->blobs()[1]->cpu_data() : nullptr, dyd.data(),
                                    c.shape[0], c.shape[1], c.shape[2], c.shape[3], c.geom);
  ASSERT_EQ(want.out_h, c.out_h);
  ASSERT_EQ(want.out_w, c.out_w);
  test::expect_near_ref(y.cpu_data(), want.y.data(), y.count(), tol, "top");
  test::expect_near_ref(x.cpu_diff(), want.dx.data(), x.count(), tol, "bottom diff");
  test::expect_near_ref(layer->blobs()[0]->cpu_diff(), want.dw.data(), layer->blobs()[0]->count(),
                        tol, "weight diff");
  if (c.bias)
    test::expect_near_ref(layer->blobs()[1]->cpu_diff(), want.db.data(), layer->blobs()[1]->count(),
                          tol, "bias diff");
}

TEST(LocallyConnected, ForwardAndBackwardMatchNaiveReference) {
  for (const auto& c : lc_cases()) {
    check_against_reference<double>(c, 1e-12);
    check_against_reference<float>(c, 1e-5);
  }
}

// With the same filter at every position the layer is a Convolution: an independent check of
// the (c, kh, kw) tap order and the window placement.
TEST(LocallyConnected, SharedWeightsEqualConvolution) {
  for (const auto& c : lc_cases()) {
    SCOPED_TRACE(c.params);
    Context ctx = Context::cpu(1);
    Tensor<double> x(c.shape), y_lc, y_conv;
    fill_uniform(x, -1, 1, 5);
    TensorVec<double> bottom{&x};
    auto lc = make_layer<double>(lc_text(c.params), ctx, bottom, {&y_lc});
    auto conv = make_layer<double>(
        "name: 'conv' type: 'Convolution' convolution_param { num_output: " +
            std::to_string(c.geom.num_output) + " kernel_size: " + std::to_string(c.geom.kernel) +
            " stride: " + std::to_string(c.geom.stride) + " pad: " + std::to_string(c.geom.pad) +
            (c.bias ? "" : " bias_term: false") +
            " weight_filler { type: 'gaussian' std: 0.5 } bias_filler { type: 'uniform' min: -1 "
            "max: 1 } }",
        ctx, bottom, {&y_conv});
    const int64_t filter = conv->blobs()[0]->count();
    const int64_t positions = c.out_h * c.out_w;
    for (int64_t l = 0; l < positions; ++l) {
      std::copy(conv->blobs()[0]->cpu_data(), conv->blobs()[0]->cpu_data() + filter,
                lc->blobs()[0]->mutable_cpu_data() + l * filter);
      if (c.bias)
        for (int64_t o = 0; o < c.geom.num_output; ++o)
          lc->blobs()[1]->mutable_cpu_data()[o * positions + l] = conv->blobs()[1]->cpu_data()[o];
    }
    lc->forward(ctx, bottom, {&y_lc});
    conv->forward(ctx, bottom, {&y_conv});
    ASSERT_EQ(y_lc.shape(), y_conv.shape());
    test::expect_near(y_lc.cpu_data(), y_conv.cpu_data(), y_lc.count(), 1e-12, "top");
  }
}

TEST(LocallyConnected, GradientDouble) {
  for (const auto& c : lc_cases()) {
    SCOPED_TRACE(c.params);
    Context ctx = Context::cpu(1);
    Tensor<double> x(c.shape), y;
    fill_uniform(x, -1, 1, 9);
    TensorVec<double> bottom{&x}, top{&y};
    auto layer = make_layer<double>(lc_text(c.params), ctx, bottom, top);
    check_gradient(*layer, ctx, bottom, top);
  }
}

TEST(LocallyConnected, ParamDiffsAccumulate) {
  Context ctx = Context::cpu(1);
  Tensor<double> x({2, 2, 4, 4}), y;
  fill_uniform(x, -1, 1, 11);
  TensorVec<double> bottom{&x}, top{&y};
  auto layer = make_layer<double>(lc_text("num_output: 2 kernel_size: 3"), ctx, bottom, top);
  layer->forward(ctx, bottom, top);
  const auto dy = test::random_values<double>(y.count(), 12);
  std::copy(dy.begin(), dy.end(), y.mutable_cpu_diff());
  for (auto& p : layer->blobs()) p->set_diff(0);
  layer->backward(ctx, top, {false}, bottom);
  std::vector<std::vector<double>> once;
  for (auto& p : layer->blobs()) once.emplace_back(p->cpu_diff(), p->cpu_diff() + p->count());
  layer->backward(ctx, top, {false}, bottom);
  for (size_t b = 0; b < once.size(); ++b)
    for (size_t i = 0; i < once[b].size(); ++i)
      EXPECT_DOUBLE_EQ(layer->blobs()[b]->cpu_diff()[i], 2 * once[b][i]) << b << " " << i;
}

// Every body is a GATHER: 1 and 2 threads agree bitwise (output, input and parameter diffs).
TEST(LocallyConnected, ThreadCountDoesNotChangeResults) {
  Tensor<float> x({3, 4, 9, 8});
  fill_uniform(x, -1, 1, 21);
  test::expect_thread_invariant<float>(lc_text("num_output: 6 kernel_size: 3 stride: 1 pad: 1"), x);
  test::expect_thread_invariant<float>(lc_text("num_output: 5 kernel_size: 2 stride: 2"), x);
}

// Golden files from PyTorch (unfold + einsum, autograd): tests/golden/make_locally_connected.py.
TEST(LocallyConnected, MatchesPyTorchGolden) {
  const std::vector<std::string> params = {
      "num_output: 4 kernel_size: 3 stride: 1 pad: 1",
      "num_output: 3 kernel_size: 2 stride: 2 pad: 0",
      "num_output: 3 kernel_size: 3 stride: 2 pad: 1 bias_term: false",
      "num_output: 5 kernel_size: 2 stride: 1 pad: 0",
  };
  const std::string dir = std::string(CREMA_SOURCE_DIR) + "/tests/golden/locally_connected/";
  for (size_t i = 0; i < params.size(); ++i) {
    SCOPED_TRACE(params[i]);
    const bool bias = params[i].find("bias_term: false") == std::string::npos;
    auto load = [&](const std::string& name) {
      return read_npy(dir + "case" + std::to_string(i) + "_" + name + ".npy");
    };
    const auto gx = load("x"), gw = load("w"), gdy = load("dy"), gy = load("y"), gdx = load("dx"),
               gdw = load("dw");
    Context ctx = Context::cpu(1);
    Tensor<double> x(gx.shape), y;
    std::copy(gx.data.begin(), gx.data.end(), x.mutable_cpu_data());
    TensorVec<double> bottom{&x}, top{&y};
    auto layer = make_layer<double>(lc_text(params[i]), ctx, bottom, top);
    ASSERT_EQ(layer->blobs()[0]->shape(), gw.shape);
    std::copy(gw.data.begin(), gw.data.end(), layer->blobs()[0]->mutable_cpu_data());
    if (bias) {
      const auto gb = load("b");
      ASSERT_EQ(layer->blobs()[1]->shape(), gb.shape);
      std::copy(gb.data.begin(), gb.data.end(), layer->blobs()[1]->mutable_cpu_data());
    }
    layer->forward(ctx, bottom, top);
    ASSERT_EQ(y.shape(), gy.shape);
    test::expect_near_ref(y.cpu_data(), gy.data.data(), y.count(), 1e-12, "top");
    std::copy(gdy.data.begin(), gdy.data.end(), y.mutable_cpu_diff());
    x.set_diff(7);
    for (auto& p : layer->blobs()) p->set_diff(0);
    layer->backward(ctx, top, {true}, bottom);
    test::expect_near_ref(x.cpu_diff(), gdx.data.data(), x.count(), 1e-12, "bottom diff");
    test::expect_near_ref(layer->blobs()[0]->cpu_diff(), gdw.data.data(), gdw.data.size(), 1e-12,
                          "weight diff");
    if (bias) {
      const auto gdb = load("db");
      test::expect_near_ref(layer->blobs()[1]->cpu_diff(), gdb.data.data(), gdb.data.size(), 1e-12,
                            "bias diff");
    }
  }
}

template <class E>
void expect_setup_throws(const std::string& params, const std::vector<int64_t>& shape) {
  SCOPED_TRACE(params);
  Context ctx = Context::cpu(1);
  Tensor<float> x(shape), y;
  TensorVec<float> bottom{&x}, top{&y};
  EXPECT_THROW(
      make_layer<float>(
          "name: 'local' type: 'LocallyConnected' locally_connected_param { " + params + " }", ctx,
          bottom, top),
      E);
}

TEST(LocallyConnected, BadParametersThrowConfigError) {
  const std::vector<int64_t> s{1, 2, 6, 6};
  expect_setup_throws<ConfigError>("kernel_size: 3", s);  // no num_output
  expect_setup_throws<ConfigError>("num_output: 0 kernel_size: 3", s);
  expect_setup_throws<ConfigError>("num_output: 2", s);  // no kernel
  expect_setup_throws<ConfigError>("num_output: 2 kernel_size: 0", s);
  expect_setup_throws<ConfigError>("num_output: 2 kernel_size: 3 stride: 0", s);
  expect_setup_throws<ConfigError>("num_output: 2 kernel_size: 3 pad: 3", s);
  Context ctx = Context::cpu(1);
  Tensor<float> x(s);
  TensorVec<float> bottom{&x};
  EXPECT_THROW(make_layer<float>(lc_text("num_output: 2 kernel_size: 3"), ctx, bottom, {&x}),
               ConfigError);
}

TEST(LocallyConnected, BadShapesThrowShapeError) {
  expect_setup_throws<ShapeError>("num_output: 2 kernel_size: 3", {2, 6, 6});
  expect_setup_throws<ShapeError>("num_output: 2 kernel_size: 3", {1, 2, 2, 6});
  expect_setup_throws<ShapeError>("num_output: 2 kernel_size: 3", {1, 0, 6, 6});
  // The per-position weights fix C, H and W; only the batch may change.
  Context ctx = Context::cpu(1);
  Tensor<float> x({1, 2, 6, 6}), y;
  TensorVec<float> bottom{&x}, top{&y};
  auto layer = make_layer<float>(lc_text("num_output: 2 kernel_size: 3"), ctx, bottom, top);
  const std::vector<std::vector<int64_t>> bad_shapes = {
      {1, 2, 7, 6}, {1, 2, 6, 5}, {1, 3, 6, 6}, {2, 6, 6}};
  for (const auto& bad : bad_shapes) {
    x.reshape(bad);
    EXPECT_THROW(layer->reshape(ctx, bottom, top), ShapeError) << shape_string(bad);
  }
  x.reshape({3, 2, 6, 6});
  EXPECT_NO_THROW(layer->reshape(ctx, bottom, top));
  EXPECT_EQ(y.shape(), (std::vector<int64_t>{3, 2, 4, 4}));
  // Loaded weights of the wrong shape are caught before they are read.
  layer->blobs()[0]->reshape({16, 2, 17});
  EXPECT_THROW(layer->reshape(ctx, bottom, top), ShapeError);
}

// The CUDA launchers run the same bodies as the CPU layer. Inputs, weights and dy are small
// dyadic numbers, so every product and partial sum is exact and FMA contraction on the device
// cannot change a bit: the comparison is bitwise.
TEST(GpuLocallyConnected, LaunchersMatchCpu) {
  CREMA_REQUIRE_GPU();
#if CREMA_WITH_CUDA
  Context ctx = Context::cpu(1);
  Tensor<float> x({2, 3, 7, 6}), y;
  auto dyadic = [](Tensor<float>& t, uint64_t seed, float scale) {
    fill_uniform(t, -1, 1, seed);
    for (int64_t i = 0; i < t.count(); ++i)
      t.mutable_cpu_data()[i] = std::round(t.cpu_data()[i] * scale) / scale;
  };
  dyadic(x, 61, 16);
  TensorVec<float> bottom{&x}, top{&y};
  auto layer =
      make_layer<float>(lc_text("num_output: 4 kernel_size: 3 stride: 2 pad: 1"), ctx, bottom, top);
  dyadic(*layer->blobs()[0], 62, 16);
  dyadic(*layer->blobs()[1], 63, 16);
  layer->forward(ctx, bottom, top);
  dyadic(y, 64, 16);
  std::copy(y.cpu_data(), y.cpu_data() + y.count(), y.mutable_cpu_diff());
  for (auto& p : layer->blobs()) p->set_diff(0);
  layer->backward(ctx, top, {true}, bottom);
  Tensor<float> want_y;
  layer->forward(ctx, bottom, {&want_y});
  const kernels::LocallyConnectedArgs args = as_local(layer).args();
  auto host = [](const float* p, int64_t n) { return std::vector<float>(p, p + n); };
  const auto& w = *layer->blobs()[0];
  const auto& b = *layer->blobs()[1];
  testing::DeviceBuffer<float> dx_in(host(x.cpu_data(), x.count())),
      dw_in(host(w.cpu_data(), w.count())), db_in(host(b.cpu_data(), b.count())),
      ddy(host(y.cpu_diff(), y.count())), out(y.count()), dx(x.count()), dw(w.count()),
      dbias(b.count());
  cuda::launch_locally_connected_forward<float>(nullptr, y.count(), args, dx_in.get(), dw_in.get(),
                                                db_in.get(), out.get());
  cuda::launch_locally_connected_backward_input<float>(nullptr, x.count(), args, ddy.get(),
                                                       dw_in.get(), dx.get());
  cuda::launch_locally_connected_backward_weight<float>(nullptr, w.count(), args, dx_in.get(),
                                                        ddy.get(), dw.get());
  cuda::launch_locally_connected_backward_bias<float>(nullptr, b.count(), args, ddy.get(),
                                                      dbias.get());
  const auto gy = out.to_host(), gdx = dx.to_host(), gdw = dw.to_host(), gdb = dbias.to_host();
  for (int64_t i = 0; i < y.count(); ++i) ASSERT_EQ(gy[i], want_y.cpu_data()[i]) << i;
  for (int64_t i = 0; i < x.count(); ++i) ASSERT_EQ(gdx[i], x.cpu_diff()[i]) << i;
  for (int64_t i = 0; i < w.count(); ++i) ASSERT_EQ(gdw[i], w.cpu_diff()[i]) << i;
  for (int64_t i = 0; i < b.count(); ++i) ASSERT_EQ(gdb[i], b.cpu_diff()[i]) << i;
#endif
}

// The layer's GPU path (forward, input, weight and bias gradients) against its CPU path on every
// case (strides, padding, no bias, 1x1). GATHER bodies summing products in a fixed order, which
// nvcc may contract into fused multiply-adds: 1e-5 relative.
TEST(GpuLocallyConnected, LayerMatchesCpu) {
  CREMA_REQUIRE_GPU();
  for (const LcCase& c : lc_cases()) {
    SCOPED_TRACE(c.params);
    Tensor<float> x(c.shape);
    fill_uniform(x, -1, 1, 23);
    test::expect_gpu_matches_cpu(lc_text(c.params), x, false, test::kGpuMathTol);
  }
}

}  // namespace
}  // namespace crema
