#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "ops/bn_layer.h"
#include "tests/gpu_compare.h"
#include "tests/reference/bn_ref.h"
#include "tests/test_util.h"

namespace crema {
namespace {

using test::check_gradient;
using test::fill_uniform;
using test::make_layer;

const char* kFillers =
    " slope_filler { type: 'uniform' min: 0.5 max: 1.5 }"
    " bias_filler { type: 'uniform' min: -1 max: 1 } ";

std::string bn_text(const std::string& params = "", const std::string& extra = "") {
  return "name: 'bn' type: 'BN' " + extra + " bn_param { " + params + kFillers + " }";
}

template <class T>
ref::BNState state_of(const Layer<T>& layer) {
  ref::BNState st;
  std::vector<double>* parts[] = {&st.scale, &st.shift, &st.run_mean, &st.run_var};
  for (int k = 0; k < 4; ++k) {
    const auto& b = *layer.blobs()[k];
    parts[k]->assign(b.cpu_data(), b.cpu_data() + b.count());
  }
  return st;
}

struct Dims {
  int64_t num, channels, spatial;
};

Dims dims_of(const std::vector<int64_t>& shape) {
  int64_t count = 1;
  for (int64_t d : shape) count *= d;
  return {shape[0], shape[1], count / (shape[0] * shape[1])};
}

std::vector<std::vector<int64_t>> shapes() { return {{2, 3, 4, 5}, {5, 3}, {2, 2, 2, 3, 2}}; }

template <class T>
void check_train_forward(const std::vector<int64_t>& shape, double tol) {
  SCOPED_TRACE(shape_string(shape));
  Context ctx = Context::cpu(1);
  Tensor<T> x(shape), y;
  fill_uniform(x, -2, 3, 17);
  TensorVec<T> bottom{&x}, top{&y};
  auto layer = make_layer<T>(bn_text("eps: 0.001 momentum: 0.7"), ctx, bottom, top);
  const Dims d = dims_of(shape);
  ASSERT_EQ(layer->blobs().size(), 4u);
  for (int k = 0; k < 4; ++k)
    EXPECT_EQ(layer->blobs()[k]->shape(), (std::vector<int64_t>{1, d.channels}));
  ref::BNState st = state_of(*layer);
  layer->forward(ctx, bottom, top);
  ASSERT_EQ(y.shape(), shape);
  const auto want =
      ref::bn_forward(x.cpu_data(), d.num, d.channels, d.spatial, double{0.7f}, double{0.001f},
                      /*batch=*/true, &st);
  std::vector<T> want_t(want.begin(), want.end());
  test::expect_near(y.cpu_data(), want_t.data(), y.count(), tol, "top");
  std::vector<T> run(st.run_mean.begin(), st.run_mean.end());
  test::expect_near(layer->blobs()[2]->cpu_data(), run.data(), d.channels, tol, "running mean");
  run.assign(st.run_var.begin(), st.run_var.end());
  test::expect_near(layer->blobs()[3]->cpu_data(), run.data(), d.channels, tol, "running var");
}

TEST(BN, TrainForwardMatchesReference) {
  for (const auto& s : shapes()) {
    check_train_forward<double>(s, 1e-12);
    check_train_forward<float>(s, 1e-5);
  }
}

TEST(BN, InitialBlobsFollowTheFork) {
  Context ctx = Context::cpu(1);
  Tensor<float> x({2, 3}), y;
  TensorVec<float> bottom{&x}, top{&y};
  auto layer = make_layer<float>(
      "name: 'bn' type: 'BN' bn_param { slope_filler { type: 'constant' value: 1 } }", ctx, bottom,
      top);
  EXPECT_EQ(layer->blobs()[0]->cpu_data()[2], 1.f);
  EXPECT_EQ(layer->blobs()[1]->cpu_data()[2], 0.f);  // default filler: constant 0
  EXPECT_EQ(layer->blobs()[2]->cpu_data()[2], 0.f);
  EXPECT_EQ(layer->blobs()[3]->cpu_data()[2], 0.f);  // variance 0 unless frozen
  auto frozen = make_layer<float>(bn_text("frozen: true"), ctx, bottom, top);
  EXPECT_EQ(frozen->blobs()[3]->cpu_data()[2], 1.f);
}

// By hand: x = [1 2 3 4] (mean 2.5, biased var 1.25), then [2 4 6 8] (mean 5, var 5);
// momentum 0.9 from running mean 0 and variance 0.
TEST(BN, RunningStatsAfterTwoForwards) {
  Context ctx = Context::cpu(1);
  Tensor<double> x({4, 1}), y;
  TensorVec<double> bottom{&x}, top{&y};
  auto layer = make_layer<double>(bn_text(), ctx, bottom, top);
  for (int i = 0; i < 4; ++i) x.mutable_cpu_data()[i] = i + 1;
  layer->forward(ctx, bottom, top);
  EXPECT_NEAR(layer->blobs()[2]->cpu_data()[0], 0.25, 1e-7);
  EXPECT_NEAR(layer->blobs()[3]->cpu_data()[0], 0.125, 1e-7);
  for (int i = 0; i < 4; ++i) x.mutable_cpu_data()[i] = 2 * (i + 1);
  layer->forward(ctx, bottom, top);
  EXPECT_NEAR(layer->blobs()[2]->cpu_data()[0], 0.9 * 0.25 + 0.1 * 5, 1e-6);
  EXPECT_NEAR(layer->blobs()[3]->cpu_data()[0], 0.9 * 0.125 + 0.1 * 5, 1e-6);
}

// TEST phase (not frozen) and frozen TRAIN both normalize by the running statistics and leave
// them unchanged.
TEST(BN, RunningStatisticsInTestPhaseAndWhenFrozen) {
  for (const auto& [params, extra] : std::vector<std::pair<std::string, std::string>>{
           {"", "phase: TEST"}, {"frozen: true", ""}, {"frozen: true", "phase: TEST"}}) {
    SCOPED_TRACE(params + " " + extra);
    Context ctx = Context::cpu(1);
    Tensor<double> x({3, 2, 2, 2}), y;
    fill_uniform(x, -1, 2, 3);
    TensorVec<double> bottom{&x}, top{&y};
    auto layer = make_layer<double>(bn_text(params, extra), ctx, bottom, top);
    layer->blobs()[2]->mutable_cpu_data()[0] = 0.3;
    layer->blobs()[2]->mutable_cpu_data()[1] = -0.2;
    layer->blobs()[3]->mutable_cpu_data()[0] = 1.7;
    layer->blobs()[3]->mutable_cpu_data()[1] = 0.4;
    ref::BNState st = state_of(*layer);
    const ref::BNState before = st;
    layer->forward(ctx, bottom, top);
    const auto want =
        ref::bn_forward(x.cpu_data(), 3, 2, 4, double{0.9f}, double{1e-5f}, /*batch=*/false, &st);
    test::expect_near(y.cpu_data(), want.data(), y.count(), 1e-12, "top");
    test::expect_near(layer->blobs()[2]->cpu_data(), before.run_mean.data(), 2, 0, "mean");
    test::expect_near(layer->blobs()[3]->cpu_data(), before.run_var.data(), 2, 0, "var");
  }
}

// Frozen, as the fork: lr_mult and decay_mult 0 for all four blobs and no gradient to scale or
// shift. Not frozen: only the running statistics are fixed.
TEST(BN, FrozenFreezesEveryBlob) {
  Context ctx = Context::cpu(1);
  Tensor<double> x({2, 3, 2}), y;
  fill_uniform(x, -1, 1, 2);
  TensorVec<double> bottom{&x}, top{&y};
  auto frozen = make_layer<double>(
      bn_text("frozen: true", "param { lr_mult: 1 decay_mult: 0 } param { lr_mult: 1 }"), ctx,
      bottom, top);
  ASSERT_EQ(frozen->layer_param().param_size(), 4);
  for (int k = 0; k < 4; ++k) {
    EXPECT_EQ(frozen->layer_param().param(k).lr_mult(), 0.f) << k;
    EXPECT_EQ(frozen->layer_param().param(k).decay_mult(), 0.f) << k;
    EXPECT_FALSE(frozen->param_propagate_down(k)) << k;
  }
  // Even when asked for (as force_backward does), frozen BN gives scale and shift no gradient.
  frozen->set_param_propagate_down(0, true);
  frozen->set_param_propagate_down(1, true);
  frozen->forward(ctx, bottom, top);
  y.set_diff(1.0);
  for (auto& p : frozen->blobs()) p->set_diff(0.0);
  frozen->backward(ctx, top, {true}, bottom);
  for (auto& p : frozen->blobs()) EXPECT_EQ(p->asum_diff(), 0.0);

  auto learned = make_layer<double>(bn_text(), ctx, bottom, top);
  ASSERT_EQ(learned->layer_param().param_size(), 4);
  EXPECT_TRUE(learned->param_propagate_down(0));
  EXPECT_TRUE(learned->param_propagate_down(1));
  EXPECT_EQ(learned->layer_param().param(0).lr_mult(), 1.f);
  for (int k = 2; k < 4; ++k) {
    EXPECT_FALSE(learned->param_propagate_down(k));
    EXPECT_EQ(learned->layer_param().param(k).lr_mult(), 0.f);
  }
}

// Not frozen, TRAIN: the gradient flows through the batch statistics and to scale and shift.
TEST(BN, GradientThroughBatchStatistics) {
  for (const auto& s : shapes()) {
    SCOPED_TRACE(shape_string(s));
    Context ctx = Context::cpu(1);
    Tensor<double> x(s), y;
    fill_uniform(x, -1, 2, 9);
    TensorVec<double> bottom{&x}, top{&y};
    auto layer = make_layer<double>(bn_text(), ctx, bottom, top);
    ASSERT_TRUE(layer->param_propagate_down(0) && layer->param_propagate_down(1));
    check_gradient(*layer, ctx, bottom, top);
  }
}

// Running statistics (frozen, or TEST): a per-channel affine map of the input.
TEST(BN, GradientWithRunningStatistics) {
  for (const auto& [params, extra] : std::vector<std::pair<std::string, std::string>>{
           {"frozen: true", ""}, {"", "phase: TEST"}}) {
    SCOPED_TRACE(params + " " + extra);
    Context ctx = Context::cpu(1);
    Tensor<double> x({2, 3, 2, 2}), y;
    fill_uniform(x, -1, 2, 10);
    TensorVec<double> bottom{&x}, top{&y};
    auto layer = make_layer<double>(bn_text(params, extra), ctx, bottom, top);
    fill_uniform(*layer->blobs()[2], -1, 1, 11);
    fill_uniform(*layer->blobs()[3], 0.5, 2, 12);
    check_gradient(*layer, ctx, bottom, top);
  }
}

TEST(BN, InPlaceMatchesSeparateTop) {
  for (const auto& [params, extra] : std::vector<std::pair<std::string, std::string>>{
           {"", ""}, {"frozen: true", ""}, {"", "phase: TEST"}}) {
    SCOPED_TRACE(params + " " + extra);
    Context ctx = Context::cpu(1);
    Tensor<double> x({3, 2, 2, 3}), y, z({3, 2, 2, 3});
    fill_uniform(x, -1, 2, 5);
    z.copy_from(x);
    TensorVec<double> bottom{&x}, top{&y}, same{&z};
    auto sep = make_layer<double>(bn_text(params, extra), ctx, bottom, top);
    auto inp = make_layer<double>(bn_text(params, extra), ctx, same, same);
    for (auto* l : {sep.get(), inp.get()}) l->blobs()[3]->set_data(0.8);
    sep->forward(ctx, bottom, top);
    inp->forward(ctx, same, same);
    test::expect_near(z.cpu_data(), y.cpu_data(), y.count(), 0, "in-place top");
    fill_uniform(y, -1, 1, 6);
    std::copy(y.cpu_data(), y.cpu_data() + y.count(), y.mutable_cpu_diff());
    std::copy(y.cpu_data(), y.cpu_data() + y.count(), z.mutable_cpu_diff());
    for (auto* l : {sep.get(), inp.get()})
      for (auto& p : l->blobs()) p->set_diff(0.0);
    sep->backward(ctx, top, {true}, bottom);
    inp->backward(ctx, same, {true}, same);
    test::expect_near(z.cpu_diff(), x.cpu_diff(), x.count(), 0, "in-place bottom diff");
    for (int k = 0; k < 2; ++k)
      test::expect_near(inp->blobs()[k]->cpu_diff(), sep->blobs()[k]->cpu_diff(), 2, 0,
                        "param diff");
  }
}

TEST(BN, ThreadCountDoesNotChangeResults) {
  for (const char* params : {"", "frozen: true"}) {
    SCOPED_TRACE(params);
    auto run = [&](int threads, std::vector<float>* out) {
      Context ctx = Context::cpu(threads);
      Tensor<float> x({2, 300, 3, 3}), y;
      fill_uniform(x, -1, 2, 3);
      TensorVec<float> bottom{&x}, top{&y};
      auto layer = make_layer<float>(bn_text(params), ctx, bottom, top);
      layer->forward(ctx, bottom, top);
      out->assign(y.cpu_data(), y.cpu_data() + y.count());
      fill_uniform(y, -1, 1, 4);
      std::copy(y.cpu_data(), y.cpu_data() + y.count(), y.mutable_cpu_diff());
      for (auto& p : layer->blobs()) p->set_diff(0.f);
      layer->backward(ctx, top, {true}, bottom);
      out->insert(out->end(), x.cpu_diff(), x.cpu_diff() + x.count());
      for (auto& p : layer->blobs()) {
        out->insert(out->end(), p->cpu_data(), p->cpu_data() + p->count());
        out->insert(out->end(), p->cpu_diff(), p->cpu_diff() + p->count());
      }
    };
    std::vector<float> one, two;
    run(1, &one);
    run(2, &two);
    Context::cpu(1);
    ASSERT_EQ(one.size(), two.size());
    EXPECT_EQ(std::memcmp(one.data(), two.data(), one.size() * sizeof(float)), 0);
  }
}

TEST(BN, BadParametersThrowConfigError) {
  Context ctx = Context::cpu(1);
  Tensor<float> x({2, 3, 2, 2}), y, x2({2, 3, 2, 2}), y2;
  TensorVec<float> bottom{&x}, top{&y};
  for (const char* p : {"eps: 0", "eps: -1e-5", "momentum: 1.5", "momentum: -0.1"}) {
    SCOPED_TRACE(p);
    EXPECT_THROW(make_layer<float>(bn_text(p), ctx, bottom, top), ConfigError);
  }
  EXPECT_THROW(make_layer<float>(
                   "name: 'bn' type: 'BN' bn_param { slope_filler { type: 'no_such_filler' } }",
                   ctx, bottom, top),
               ConfigError);
  TensorVec<float> two_bottoms{&x, &x2}, two_tops{&y, &y2};
  EXPECT_THROW(make_layer<float>(bn_text(), ctx, two_bottoms, two_tops), ConfigError);
  EXPECT_THROW(make_layer<float>(bn_text(), ctx, bottom, two_tops), ConfigError);
}

TEST(BN, BadShapesThrowShapeError) {
  Context ctx = Context::cpu(1);
  Tensor<float> one_axis({6}), y;
  TensorVec<float> ob{&one_axis}, top{&y};
  EXPECT_THROW(make_layer<float>(bn_text(), ctx, ob, top), ShapeError);
  Tensor<float> x({2, 3, 2, 2});
  TensorVec<float> bottom{&x};
  auto layer = make_layer<float>(bn_text(), ctx, bottom, top);
  x.reshape({2, 4, 2, 2});
  EXPECT_THROW(layer->forward(ctx, bottom, top), ShapeError);
}

// The GPU path against the CPU in every mode: batch statistics (TRAIN), running statistics (TEST,
// frozen, frozen TEST), separate and in-place tops, 4-d, 2-d and 5-d bottoms. The channel sums
// run in the same order on both devices, but nvcc fuses the multiply-adds of the squared
// deviations, the backward sums and the affine maps: kGpuMathTol in float, 1e-10 in double.
TEST(GpuBN, MatchesCpu) {
  CREMA_REQUIRE_GPU();
  for (const auto& [params, extra] :
       std::vector<std::pair<std::string, std::string>>{{"", ""},
                                                        {"eps: 0.001 momentum: 0.7", ""},
                                                        {"frozen: true", ""},
                                                        {"", "phase: TEST"},
                                                        {"frozen: true", "phase: TEST"}}) {
    SCOPED_TRACE(params + " " + extra);
    for (const auto& shape : shapes()) {
      SCOPED_TRACE(shape_string(shape));
      for (bool in_place : {false, true}) {
        test::expect_gpu_matches_cpu<float>(bn_text(params, extra), {shape},
                                            {.tol = test::kGpuMathTol, .in_place = in_place});
        test::expect_gpu_matches_cpu<double>(bn_text(params, extra), {shape},
                                             {.tol = 1e-10, .in_place = in_place});
      }
    }
  }
}

// The running statistics the GPU path updates in TRAIN (not frozen) match the CPU's after two
// forwards, and stay untouched when frozen (same tolerance as above).
TEST(GpuBN, RunningStatisticsMatchCpu) {
  CREMA_REQUIRE_GPU();
  for (const char* params : {"momentum: 0.7", "frozen: true"}) {
    SCOPED_TRACE(params);
    Context cpu = Context::cpu(1);
    Context gpu = Context::gpu(0, 1);
    Tensor<float> xc({3, 4, 2, 5}), xg({3, 4, 2, 5}), yc, yg;
    TensorVec<float> bc{&xc}, tc{&yc}, bg{&xg}, tg{&yg};
    auto lc = make_layer<float>(bn_text(params), cpu, bc, tc);
    auto lg = make_layer<float>(bn_text(params), gpu, bg, tg);
    fill_uniform(*lc->blobs()[2], -1, 1, 30);
    fill_uniform(*lc->blobs()[3], 0.5, 2, 31);
    for (size_t k = 0; k < 4; ++k) lg->blobs()[k]->copy_from(*lc->blobs()[k]);
    for (uint64_t seed : {32, 33}) {
      fill_uniform(xc, -2, 3, seed);
      xg.copy_from(xc);
      lc->forward(cpu, bc, tc);
      lg->forward(gpu, bg, tg);
    }
    for (size_t k = 2; k < 4; ++k)
      test::expect_near(lg->blobs()[k]->cpu_data(), lc->blobs()[k]->cpu_data(), 4,
                        test::kGpuMathTol, k == 2 ? "running mean" : "running var");
  }
}

}  // namespace
}  // namespace crema
