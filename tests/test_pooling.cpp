#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "ops/pooling_layer.h"
#include "tests/cuda_test_util.h"
#include "tests/gpu_compare.h"
#include "tests/reference/pooling_ref.h"
#include "tests/test_util.h"

namespace crema {
namespace {

using test::check_gradient;
using test::fill_uniform;
using test::make_layer;

std::string pool_text(const std::string& params) {
  return "name: 'pool' type: 'Pooling' pooling_param { " + params + " }";
}

// Distinct values spaced 0.1 apart (shuffled) so a small finite-difference step never changes
// which pixel is the max of a window.
template <class T>
void fill_distinct(Tensor<T>& t, uint64_t seed) {
  std::vector<int64_t> order(static_cast<size_t>(t.count()));
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), std::mt19937_64(seed));
  for (int64_t i = 0; i < t.count(); ++i)
    t.mutable_cpu_data()[i] = static_cast<T>(0.1 * (order[i] - t.count() / 2.0));
}

struct PoolCase {
  std::string params;
  ref::PoolGeom geom;
  std::vector<int64_t> shape;  // bottom
  int64_t out_h, out_w;        // expected pooled size
};

// pooled: ceil((H + 2p - k) / s) + 1, minus one if the last window starts at or past H + p.
std::vector<PoolCase> pool_cases() {
  return {
      {"kernel_size: 3 stride: 2 pad: 1", {3, 3, 2, 2, 1, 1}, {2, 3, 5, 5}, 3, 3},
      // ceil (3) differs from floor (2); the last window hangs over the image edge.
      {"kernel_size: 3 stride: 2", {3, 3, 2, 2}, {2, 2, 6, 6}, 3, 3},
      {"kernel_size: 3 stride: 2 round_mode: FLOOR", {3, 3, 2, 2, 0, 0, false}, {2, 2, 6, 6}, 2, 2},
      // ceil((5 + 2 - 2) / 3) + 1 = 3, but window 2 would start at 2 * 3 - 1 = 5 = H: dropped.
      {"kernel_size: 2 stride: 3 pad: 1", {2, 2, 3, 3, 1, 1}, {1, 2, 5, 5}, 2, 2},
      {"kernel_h: 3 kernel_w: 2 stride_h: 2 stride_w: 1 pad_h: 1 pad_w: 0",
       {3, 2, 2, 1, 1, 0},
       {1, 3, 6, 5},
       4,
       4},
      {"kernel_size: 2 stride: 2 pad: 1 round_mode: FLOOR",
       {2, 2, 2, 2, 1, 1, false},
       {1, 2, 5, 4},
       3,
       3},
      {"kernel_size: 3 stride: 1 pad: 2", {3, 3, 1, 1, 2, 2}, {1, 1, 4, 4}, 6, 6},
      // Stride > kernel without pad: ceil gives 3, but window 2 would start at 6, past the
      // image (Caffe keeps this empty window; we drop it).
      {"kernel_size: 1 stride: 3", {1, 1, 3, 3}, {1, 2, 5, 5}, 2, 2},
      {"global_pooling: true", {4, 5}, {2, 3, 4, 5}, 1, 1},
  };
}

template <class T>
void check_forward(const PoolCase& c, const std::string& method, double tol) {
  SCOPED_TRACE(method + " " + c.params);
  const bool max = method == "MAX";
  Context ctx = Context::cpu(1);
  Tensor<T> x(c.shape), y, mask;
  fill_uniform(x, -1, 1, 13);
  TensorVec<T> bottom{&x}, top{&y};
  if (max) top.push_back(&mask);
  auto layer = make_layer<T>(pool_text("pool: " + method + " " + c.params), ctx, bottom, top);
  layer->forward(ctx, bottom, top);
  ASSERT_EQ(y.shape(), (std::vector<int64_t>{c.shape[0], c.shape[1], c.out_h, c.out_w}));
  const auto want =
      ref::pool2d(x.cpu_data(), c.shape[0] * c.shape[1], c.shape[2], c.shape[3], c.geom, max);
  ASSERT_EQ(want.out_h, c.out_h);
  ASSERT_EQ(want.out_w, c.out_w);
  std::vector<T> want_t(want.y.begin(), want.y.end());
  test::expect_near(y.cpu_data(), want_t.data(), y.count(), tol, "top");
  if (max) {
    ASSERT_EQ(mask.shape(), y.shape());
    for (int64_t i = 0; i < mask.count(); ++i)
      EXPECT_EQ(mask.cpu_data()[i], static_cast<T>(want.argmax[i])) << "mask[" << i << "]";
  }
}

TEST(Pooling, MaxForwardAndMaskMatchNaiveReference) {
  for (const auto& c : pool_cases()) {
    check_forward<double>(c, "MAX", 0);
    check_forward<float>(c, "MAX", 0);
  }
}

TEST(Pooling, AveForwardMatchesNaiveReference) {
  for (const auto& c : pool_cases()) {
    check_forward<double>(c, "AVE", 1e-12);
    check_forward<float>(c, "AVE", 1e-6);
  }
}

// Hand-computed AVE values (Caffe's divisor): a 2x2 input of ones, kernel 2, stride 2, pad 1
// gives 2x2 windows that each hold one image pixel and three padding cells inside H + p, so
// padding counts and every output is 1/4.
TEST(Pooling, AveDividesByPaddedWindow) {
  Context ctx = Context::cpu(1);
  Tensor<double> x({1, 1, 2, 2}), y;
  x.set_data(1.0);
  TensorVec<double> bottom{&x}, top{&y};
  auto layer =
      make_layer<double>(pool_text("pool: AVE kernel_size: 2 stride: 2 pad: 1"), ctx, bottom, top);
  layer->forward(ctx, bottom, top);
  ASSERT_EQ(y.shape(), (std::vector<int64_t>{1, 1, 2, 2}));
  for (int i = 0; i < 4; ++i) EXPECT_DOUBLE_EQ(y.cpu_data()[i], 0.25);
  // 3x3 input, kernel 2, stride 2, pad 0: the ceil-rounded last windows reach past H + p = 3,
  // so their divisors shrink to the part inside (2 or 1) and all outputs are 1, not 1/2.
  Tensor<double> x3({1, 1, 3, 3});
  x3.set_data(1.0);
  TensorVec<double> bottom3{&x3};
  auto layer3 =
      make_layer<double>(pool_text("pool: AVE kernel_size: 2 stride: 2"), ctx, bottom3, top);
  layer3->forward(ctx, bottom3, top);
  ASSERT_EQ(y.shape(), (std::vector<int64_t>{1, 1, 2, 2}));
  for (int i = 0; i < 4; ++i) EXPECT_DOUBLE_EQ(y.cpu_data()[i], 1.0);
}

TEST(Pooling, GradientDouble) {
  for (const auto& c : pool_cases()) {
    for (const std::string method : {"MAX", "AVE"}) {
      SCOPED_TRACE(method + " " + c.params);
      Context ctx = Context::cpu(1);
      Tensor<double> x(c.shape), y;
      fill_distinct(x, 17);
      TensorVec<double> bottom{&x}, top{&y};
      auto layer =
          make_layer<double>(pool_text("pool: " + method + " " + c.params), ctx, bottom, top);
      check_gradient(*layer, ctx, bottom, top);
    }
  }
}

// All bodies are GATHER: results may not depend on the thread count. Forward and backward both
// have >= 2048 work items so parallel_for really splits them.
TEST(Pooling, ThreadCountDoesNotChangeResults) {
  for (const std::string method : {"MAX", "AVE"}) {
    SCOPED_TRACE(method);
    auto run = [&](int threads, std::vector<float>* out) {
      Context ctx = Context::cpu(threads);
      Tensor<float> x({4, 8, 20, 20}), y;
      fill_uniform(x, -1, 1, 3);
      TensorVec<float> bottom{&x}, top{&y};
      auto layer = make_layer<float>(
          pool_text("pool: " + method + " kernel_size: 3 stride: 2 pad: 1"), ctx, bottom, top);
      layer->forward(ctx, bottom, top);
      fill_uniform(y, -1, 1, 4);
      std::copy(y.cpu_data(), y.cpu_data() + y.count(), y.mutable_cpu_diff());
      layer->forward(ctx, bottom, top);
      layer->backward(ctx, top, {true}, bottom);
      out->assign(y.cpu_data(), y.cpu_data() + y.count());
      out->insert(out->end(), x.cpu_diff(), x.cpu_diff() + x.count());
    };
    std::vector<float> one, two;
    run(1, &one);
    run(2, &two);
    Context::cpu(1);
    ASSERT_EQ(one.size(), two.size());
    EXPECT_EQ(std::memcmp(one.data(), two.data(), one.size() * sizeof(float)), 0);
  }
}

template <class E>
void expect_setup_throws(const std::string& params, const std::vector<int64_t>& shape,
                         int tops = 1) {
  SCOPED_TRACE(params);
  Context ctx = Context::cpu(1);
  Tensor<float> x(shape), y, y2;
  TensorVec<float> bottom{&x}, top{&y};
  if (tops == 2) top.push_back(&y2);
  EXPECT_THROW(make_layer<float>(pool_text(params), ctx, bottom, top), E);
}

TEST(Pooling, BadParametersThrowConfigError) {
  const std::vector<int64_t> s{1, 2, 6, 6};
  expect_setup_throws<ConfigError>("kernel_size: 0", s);
  expect_setup_throws<ConfigError>("kernel_h: 2 kernel_w: 0", s);
  expect_setup_throws<ConfigError>("kernel_size: 2 stride: 0", s);
  expect_setup_throws<ConfigError>("kernel_size: 2 stride_h: 0 stride_w: 1", s);
  expect_setup_throws<ConfigError>("kernel_size: 2 stride_h: 2", s);
  expect_setup_throws<ConfigError>("kernel_size: 2 pad: 2", s);  // pad >= kernel
  expect_setup_throws<ConfigError>("kernel_h: 3 kernel_w: 2 pad_h: 1 pad_w: 2", s);
  expect_setup_throws<ConfigError>("stride: 2", s);    // no kernel
  expect_setup_throws<ConfigError>("kernel_h: 2", s);  // half a kernel
  expect_setup_throws<ConfigError>("kernel_size: 2 kernel_h: 2 kernel_w: 2", s);
  expect_setup_throws<ConfigError>("kernel_size: 3 pad: 1 pad_h: 1 pad_w: 1", s);
  expect_setup_throws<ConfigError>("pool: STOCHASTIC kernel_size: 2", s);
  expect_setup_throws<ConfigError>("global_pooling: true kernel_size: 2", s);
  expect_setup_throws<ConfigError>("global_pooling: true pad: 1", s);
  expect_setup_throws<ConfigError>("global_pooling: true stride: 2", s);
  expect_setup_throws<ConfigError>("pool: AVE kernel_size: 2", s, 2);  // mask top is MAX only
  Context ctx = Context::cpu(1);
  Tensor<float> x(s), y;
  TensorVec<float> bottom{&x}, top{&y};
  std::string msg;
  try {
    make_layer<float>(pool_text("pool: STOCHASTIC kernel_size: 2"), ctx, bottom, top);
  } catch (const ConfigError& e) {
    msg = e.what();
  }
  EXPECT_NE(msg.find("not supported; use MAX or AVE"), std::string::npos) << msg;
}

TEST(Pooling, BadShapesThrowShapeError) {
  expect_setup_throws<ShapeError>("kernel_size: 2", {2, 6, 6});
  expect_setup_throws<ShapeError>("kernel_size: 5", {1, 1, 3, 8});
  expect_setup_throws<ShapeError>("kernel_size: 5 pad: 1", {1, 1, 8, 2});
  Context ctx = Context::cpu(1);
  Tensor<float> x({1, 1, 4, 4}), y;
  TensorVec<float> bottom{&x}, top{&y};
  auto layer = make_layer<float>(pool_text("kernel_size: 3"), ctx, bottom, top);
  x.reshape({1, 1, 2, 4});
  EXPECT_THROW(layer->forward(ctx, bottom, top), ShapeError);
}

// Which GPU route each geometry takes (decided on the host in reshape, so this runs anywhere):
// cuDNN only for AVE windows that never overhang the padded image; MAX and overhanging CEIL
// windows run the kernel bodies.
TEST(Pooling, GpuRouteIsCudnnOnlyWhereExact) {
  Context ctx = Context::cpu(1);
  struct Route {
    std::string params;
    std::vector<int64_t> shape;
    bool cudnn;
  };
  const std::vector<Route> routes = {
      {"pool: AVE kernel_size: 3 stride: 2 pad: 1", {1, 1, 5, 5}, true},  // ceil == floor
      {"pool: AVE kernel_size: 3 stride: 2", {1, 1, 6, 6}, false},        // ceil overhangs
      {"pool: AVE kernel_size: 3 stride: 2 round_mode: FLOOR", {1, 1, 6, 6}, true},
      {"pool: AVE global_pooling: true", {1, 1, 4, 5}, true},
      {"pool: AVE kernel_h: 3 kernel_w: 2 stride_h: 2 stride_w: 1 pad_h: 1", {1, 1, 6, 5}, false},
      {"pool: MAX kernel_size: 3 stride: 2 pad: 1", {1, 1, 5, 5}, false},
      {"pool: MAX global_pooling: true", {1, 1, 4, 5}, false},
  };
  for (const auto& r : routes) {
    SCOPED_TRACE(r.params);
    Tensor<float> x(r.shape), y;
    TensorVec<float> bottom{&x}, top{&y};
    auto layer = make_layer<float>(pool_text(r.params), ctx, bottom, top);
    EXPECT_EQ(static_cast<PoolingLayer<float>&>(*layer).gpu_uses_cudnn(), r.cudnn);
  }
}

// The GPU path against the CPU path for MAX (with and without the mask top) and AVE on every
// case above. Kernel-body routes (MAX, overhanging AVE) must match bitwise (GATHER bodies with
// no multiply-add to contract); cuDNN AVE within 1e-5 relative in float, 1e-10 in double.
TEST(GpuPooling, LayerMatchesCpu) {
  CREMA_REQUIRE_GPU();
#if CREMA_WITH_CUDA
  Context cpu = Context::cpu(1);
  for (const auto& c : pool_cases()) {
    for (const std::string method : {"MAX", "AVE"}) {
      const std::string text = pool_text("pool: " + method + " " + c.params);
      SCOPED_TRACE(text);
      Tensor<float> x(c.shape), y;
      TensorVec<float> bottom{&x}, top{&y};
      auto probe = make_layer<float>(text, cpu, bottom, top);
      const bool cudnn = static_cast<PoolingLayer<float>&>(*probe).gpu_uses_cudnn();
      test::expect_gpu_matches_cpu<float>(text, {c.shape}, {.tol = cudnn ? 1e-5 : 0.0});
      test::expect_gpu_matches_cpu<double>(text, {c.shape}, {.tol = cudnn ? 1e-10 : 0.0});
      if (method == "MAX")
        test::expect_gpu_matches_cpu<float>(text, {c.shape}, {.tol = 0.0, .num_tops = 2});
    }
  }
#endif
}

// The pooling launchers run directly on device buffers against the CPU layer: output, mask and
// input gradient bitwise (GATHER bodies).
TEST(GpuPooling, LaunchersMatchCpu) {
  CREMA_REQUIRE_GPU();
#if CREMA_WITH_CUDA
  Context ctx = Context::cpu(1);
  const std::vector<int64_t> shape{2, 3, 7, 5};
  const kernels::PoolingArgs a{7, 5, 4, 3, 3, 3, 2, 2, 1, 1};  // kernel 3, stride 2, pad 1
  for (const std::string method : {"MAX", "AVE"}) {
    SCOPED_TRACE(method);
    const bool max = method == "MAX";
    Tensor<float> x(shape), y, top_mask;
    fill_uniform(x, -1, 1, 41);
    TensorVec<float> bottom{&x}, top{&y};
    if (max) top.push_back(&top_mask);
    auto layer = make_layer<float>(
        pool_text("pool: " + method + " kernel_size: 3 stride: 2 pad: 1"), ctx, bottom, top);
    layer->forward(ctx, bottom, top);
    ASSERT_EQ(y.shape(), (std::vector<int64_t>{2, 3, 4, 3}));
    Tensor<float> dy(y.shape());
    fill_uniform(dy, -1, 1, 42);
    std::copy(dy.cpu_data(), dy.cpu_data() + dy.count(), y.mutable_cpu_diff());
    layer->backward(ctx, top, {true}, bottom);
    const std::vector<float> hx(x.cpu_data(), x.cpu_data() + x.count());
    const std::vector<float> hdy(dy.cpu_data(), dy.cpu_data() + dy.count());
    testing::DeviceBuffer<float> dx_in(hx), ddy(hdy), out(hdy.size()), dmask_t(hdy.size()),
        dx(hx.size());
    testing::DeviceBuffer<int32_t> dmask(hdy.size());
    const int64_t rows_out = 2 * 3 * 4, rows_in = 2 * 3 * 7;
    if (max) {
      cuda::launch_pooling_max_forward<float>(nullptr, rows_out, a, dx_in.get(), out.get(),
                                              dmask.get(), dmask_t.get());
      cuda::launch_pooling_max_backward<float>(nullptr, rows_in, a, ddy.get(), dmask.get(),
                                               dx.get());
    } else {
      cuda::launch_pooling_ave_forward<float>(nullptr, rows_out, a, dx_in.get(), out.get());
      cuda::launch_pooling_ave_backward<float>(nullptr, rows_in, a, ddy.get(), dx.get());
    }
    const auto gy = out.to_host();
    const auto gdx = dx.to_host();
    for (int64_t i = 0; i < y.count(); ++i) ASSERT_EQ(gy[i], y.cpu_data()[i]) << i;
    if (max) {
      const auto gm = dmask_t.to_host();
      for (int64_t i = 0; i < y.count(); ++i) ASSERT_EQ(gm[i], top_mask.cpu_data()[i]) << i;
    }
    for (int64_t i = 0; i < x.count(); ++i) ASSERT_EQ(gdx[i], x.cpu_diff()[i]) << i;
  }
#endif
}

}  // namespace
}  // namespace crema
