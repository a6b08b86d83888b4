#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "ops/lrn_layer.h"
#include "tests/cuda_test_util.h"
#include "tests/gpu_compare.h"
#include "tests/layer_checks.h"
#include "tests/reference/lrn_ref.h"
#include "tests/test_util.h"

namespace crema {
namespace {

struct LrnCase {
  ref::LrnParams p;
  std::vector<int64_t> shape;
};

std::string lrn_text(const ref::LrnParams& p) {
  return "name: 'norm' type: 'LRN' lrn_param { local_size: " + std::to_string(p.local_size) +
         " alpha: " + test::num(p.alpha) + " beta: " + test::num(p.beta) + " k: " + test::num(p.k) +
         " norm_region: " + (p.across ? "ACROSS_CHANNELS" : "WITHIN_CHANNEL") + " }";
}

// Large alphas so the normalization is far from the identity.
std::vector<LrnCase> lrn_cases() {
  return {
      {{5, 1e-4, 0.75, 1, true}, {2, 7, 3, 4}},  // AlexNet's setting
      {{5, 2.0, 0.75, 1, true}, {2, 7, 3, 4}},  {{3, 1.5, 0.6, 2, true}, {1, 4, 2, 5}},
      {{7, 0.8, 1.2, 0.5, true}, {2, 3, 2, 2}},  // window wider than the channel count
      {{1, 0.5, 0.75, 1, true}, {1, 3, 2, 2}},  {{3, 1.0, 0.75, 1, false}, {2, 2, 5, 6}},
      {{5, 3.0, 0.5, 7, false}, {1, 2, 3, 4}},  // k is ignored within a channel
      {{1, 0.5, 0.9, 1, false}, {1, 2, 3, 3}},
  };
}

template <class T>
void check_against_reference(const LrnCase& c, double tol) {
  Context ctx = Context::cpu(1);
  Tensor<T> x(c.shape);
  test::fill_uniform(x, -1.5, 1.5, 11);
  const auto got = test::forward_backward(lrn_text(c.p), ctx, x, false);
  ASSERT_EQ(got.top_shape, x.shape());
  const auto dy = test::random_values<T>(x.count(), 99);
  ref::LrnParams p = c.p;
  p.alpha = test::f32(p.alpha);
  p.beta = test::f32(p.beta);
  p.k = test::f32(p.k);
  const auto want =
      ref::lrn(x.cpu_data(), dy.data(), c.shape[0], c.shape[1], c.shape[2], c.shape[3], p);
  test::expect_near_ref(got.y.data(), want.y.data(), x.count(), tol, "lrn y");
  test::expect_near_ref(got.dx.data(), want.dx.data(), x.count(), tol, "lrn dx");
}

TEST(LRN, ForwardBackwardMatchReference) {
  for (const auto& c : lrn_cases()) {
    SCOPED_TRACE(lrn_text(c.p));
    check_against_reference<float>(c, 1e-5);
    check_against_reference<double>(c, 1e-12);
  }
}

// One hand-computed value: across 3 channels holding 1, 2, 3 (local_size 3, alpha 3, beta 1,
// k 1), the middle channel's scale is 1 + 3/3 * (1 + 4 + 9) = 15, so y = 2 / 15.
TEST(LRN, HandComputedAcrossChannels) {
  Context ctx = Context::cpu(1);
  Tensor<double> x({1, 3, 1, 1});
  for (int c = 0; c < 3; ++c) x.mutable_cpu_data()[c] = c + 1;
  const auto got = test::forward_backward<double>(
      "name: 'n' type: 'LRN' lrn_param { local_size: 3 alpha: 3 beta: 1 }", ctx, x, false);
  EXPECT_NEAR(got.y[0], 1.0 / (1 + 5), 1e-15);  // channel 0: 1 + 4
  EXPECT_NEAR(got.y[1], 2.0 / 15, 1e-15);
  EXPECT_NEAR(got.y[2], 3.0 / (1 + 13), 1e-15);  // channel 2: 4 + 9
}

TEST(LRN, GradientDouble) {
  for (const auto& c : lrn_cases()) {
    SCOPED_TRACE(lrn_text(c.p));
    Context ctx = Context::cpu(1);
    Tensor<double> x(c.shape), y;
    test::fill_uniform(x, -1.5, 1.5, 3);
    auto layer = test::make_layer<double>(lrn_text(c.p), ctx, {&x}, {&y});
    test::check_gradient<double>(*layer, ctx, {&x}, {&y});
  }
}

TEST(LRN, ThreadCountDoesNotChangeResults) {
  Tensor<float> x({2, 16, 12, 10});  // 384 rows: above parallel_for's serial cutoff
  test::fill_uniform(x, -1, 1, 9);
  test::expect_thread_invariant(lrn_text({5, 1.0, 0.75, 2, true}), x);
  test::expect_thread_invariant(lrn_text({3, 1.0, 0.75, 1, false}), x);
}

TEST(LRN, Errors) {
  Context ctx = Context::cpu(1);
  Tensor<float> x({1, 3, 4, 4}), y, x3({3, 4, 4});
  ref::LrnParams even{4, 1, 0.75, 1, true};
  EXPECT_THROW(test::make_layer<float>(lrn_text(even), ctx, {&x}, {&y}), ConfigError);
  even.across = false;
  EXPECT_THROW(test::make_layer<float>(lrn_text(even), ctx, {&x}, {&y}), ConfigError);
  EXPECT_THROW(test::make_layer<float>(lrn_text({0, 1, 0.75, 1, true}), ctx, {&x}, {&y}),
               ConfigError);
  EXPECT_THROW(test::make_layer<float>(lrn_text({3, 1, 0.75, 1, true}), ctx, {&x3}, {&y}),
               ShapeError);
  EXPECT_THROW(test::make_layer<float>(lrn_text({3, 1, 0.75, 1, true}), ctx, {&x}, {&x}),
               ConfigError);
}

// Which GPU route each setting takes (decided on the host in layer_setup, so this runs
// anywhere): cuDNN for ACROSS_CHANNELS within its limits (local_size <= 16, k >= 1e-5,
// beta >= 0.01), the kernel bodies otherwise.
TEST(LRN, GpuRouteIsCudnnOnlyWithinItsLimits) {
  Context ctx = Context::cpu(1);
  const std::vector<std::pair<ref::LrnParams, bool>> routes = {
      {{5, 1e-4, 0.75, 1, true}, true},    {{17, 1.0, 0.75, 1, true}, false},
      {{3, 1.0, 0.75, 1e-6, true}, false}, {{3, 1.0, 0.005, 1, true}, false},
      {{3, 1.0, 0.75, 1, false}, false},
  };
  for (const auto& [p, cudnn] : routes) {
    SCOPED_TRACE(lrn_text(p));
    Tensor<float> x({1, 4, 2, 2}), y;
    TensorVec<float> bottom{&x}, top{&y};
    auto layer = test::make_layer<float>(lrn_text(p), ctx, bottom, top);
    EXPECT_EQ(static_cast<LRNLayer<float>&>(*layer).gpu_uses_cudnn(), cudnn);
  }
}

// The GPU path against the CPU path on every case above (cuDNN for ACROSS_CHANNELS, the kernel
// bodies for WITHIN_CHANNEL) plus settings beyond cuDNN's limits: forward and bottom diff,
// 1e-4 relative in float (pow, FMA contraction and cuDNN's own evaluation order differ),
// 1e-10 in double.
TEST(GpuLRN, LayerMatchesCpu) {
  CREMA_REQUIRE_GPU();
#if CREMA_WITH_CUDA
  std::vector<LrnCase> cases = lrn_cases();
  cases.push_back({{17, 1.0, 0.75, 1, true}, {2, 20, 3, 3}});
  cases.push_back({{3, 1.0, 0.005, 1, true}, {1, 5, 2, 3}});
  for (const auto& c : cases) {
    SCOPED_TRACE(lrn_text(c.p));
    test::expect_gpu_matches_cpu<float>(lrn_text(c.p), {c.shape},
                                        {.tol = 1e-4, .lo = -1.5, .hi = 1.5});
    test::expect_gpu_matches_cpu<double>(lrn_text(c.p), {c.shape},
                                         {.tol = 1e-10, .lo = -1.5, .hi = 1.5});
  }
#endif
}

// The LRN launchers on device buffers against the CPU layer (both regions): output and input
// gradient within 1e-6 relative (nvcc contracts multiply-adds and has its own pow).
TEST(GpuLRN, LaunchersMatchCpu) {
  CREMA_REQUIRE_GPU();
#if CREMA_WITH_CUDA
  Context ctx = Context::cpu(1);
  const std::vector<int64_t> shape{2, 5, 4, 3};
  for (const bool across : {true, false}) {
    const ref::LrnParams p{3, 1.5, 0.75, 2, across};
    SCOPED_TRACE(lrn_text(p));
    Tensor<double> x(shape), y;
    test::fill_uniform(x, -1.5, 1.5, 51);
    TensorVec<double> bottom{&x}, top{&y};
    auto layer = test::make_layer<double>(lrn_text(p), ctx, bottom, top);
    layer->forward(ctx, bottom, top);
    Tensor<double> dy(shape);
    test::fill_uniform(dy, -1, 1, 52);
    std::copy(dy.cpu_data(), dy.cpu_data() + dy.count(), y.mutable_cpu_diff());
    layer->backward(ctx, top, {true}, bottom);
    kernels::LrnArgs<double> a{};
    a.channels = 5;
    a.height = 4;
    a.width = 3;
    a.pre_pad = 1;
    const double n = across ? 3.0 : 9.0;
    a.k = across ? test::f32(2.0) : 1.0;
    a.coeff = test::f32(1.5) / n;
    a.beta = test::f32(0.75);
    a.grad_coeff = 2 * test::f32(1.5) * test::f32(0.75) / n;
    const std::vector<double> hx(x.cpu_data(), x.cpu_data() + x.count());
    const std::vector<double> hy(y.cpu_data(), y.cpu_data() + y.count());
    const std::vector<double> hdy(dy.cpu_data(), dy.cpu_data() + dy.count());
    testing::DeviceBuffer<double> dx_in(hx), dy_in(hdy), out(hx.size()), scale(hx.size()),
        dx(hx.size());
    const int64_t rows = 2 * 5 * 4;
    if (across) {
      cuda::launch_lrn_across_forward<double>(nullptr, rows, a, dx_in.get(), scale.get(),
                                              out.get());
      cuda::launch_lrn_across_backward<double>(nullptr, rows, a, dx_in.get(), out.get(),
                                               scale.get(), dy_in.get(), dx.get());
    } else {
      cuda::launch_lrn_within_forward<double>(nullptr, rows, a, dx_in.get(), scale.get(),
                                              out.get());
      cuda::launch_lrn_within_backward<double>(nullptr, rows, a, dx_in.get(), out.get(),
                                               scale.get(), dy_in.get(), dx.get());
    }
    const auto gy = out.to_host();
    const auto gdx = dx.to_host();
    test::expect_near(gy.data(), hy.data(), x.count(), 1e-6, "y");
    test::expect_near(gdx.data(), x.cpu_diff(), x.count(), 1e-6, "dx");
  }
#endif
}

}  // namespace
}  // namespace crema
