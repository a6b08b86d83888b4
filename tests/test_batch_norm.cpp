#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "ops/batch_norm_layer.h"
#include "tests/cuda_test_util.h"
#include "tests/gpu_compare.h"
#include "tests/layer_checks.h"
#include "tests/reference/batch_norm_ref.h"
#include "tests/test_util.h"

namespace crema {
namespace {

using test::check_gradient;
using test::fill_uniform;
using test::make_layer;

// Parameters are floats in the proto: the layer sees 1e-5f, not 1e-5.
constexpr double kEps = double{1e-5f};

std::string bn_text(const std::string& params = "", const std::string& extra = "") {
  return "name: 'bn' type: 'BatchNorm' " + extra + " batch_norm_param { " + params + " }";
}

// (num, channels, spatial) of a Caffe BatchNorm bottom.
struct Dims {
  int64_t num, channels, spatial;
};

Dims dims_of(const std::vector<int64_t>& shape) {
  int64_t count = 1;
  for (int64_t d : shape) count *= d;
  const int64_t c = shape.size() == 1 ? 1 : shape[1];
  return {shape[0], c, count / (shape[0] * c)};
}

std::vector<std::vector<int64_t>> shapes() {
  return {{2, 3, 4, 5}, {5, 3}, {3, 2, 5}, {6}, {2, 2, 2, 3, 2}};
}

template <class T>
void check_train_forward(const std::vector<int64_t>& shape, double tol) {
  SCOPED_TRACE(shape_string(shape));
  Context ctx = Context::cpu(1);
  Tensor<T> x(shape), y;
  fill_uniform(x, -2, 3, 17);
  TensorVec<T> bottom{&x}, top{&y};
  auto layer = make_layer<T>(bn_text("eps: 0.001"), ctx, bottom, top);
  const Dims d = dims_of(shape);
  ASSERT_EQ(layer->blobs().size(), 3u);
  EXPECT_EQ(layer->blobs()[0]->shape(), (std::vector<int64_t>{d.channels}));
  EXPECT_EQ(layer->blobs()[2]->shape(), (std::vector<int64_t>{1}));
  layer->forward(ctx, bottom, top);
  ASSERT_EQ(y.shape(), shape);
  ref::BatchNormState st{std::vector<double>(d.channels), std::vector<double>(d.channels), 0};
  const auto want = ref::batch_norm_train(x.cpu_data(), d.num, d.channels, d.spatial,
                                          double{0.999f}, double{0.001f}, &st);
  std::vector<T> want_t(want.begin(), want.end());
  test::expect_near(y.cpu_data(), want_t.data(), y.count(), tol, "top");
}

TEST(BatchNorm, TrainForwardMatchesReference) {
  for (const auto& s : shapes()) {
    check_train_forward<double>(s, 1e-12);
    check_train_forward<float>(s, 1e-5);
  }
}

// Caffe's running sums, by hand: x = [1 2 3 4] (mean 2.5, biased var 1.25, unbiased 5/3), then
// x = [2 4 6 8] (mean 5, unbiased var 20/3), moving_average_fraction 0.999.
TEST(BatchNorm, RunningStatsAfterTwoForwards) {
  Context ctx = Context::cpu(1);
  Tensor<double> x({4, 1}), y;
  TensorVec<double> bottom{&x}, top{&y};
  auto layer = make_layer<double>(bn_text(), ctx, bottom, top);
  for (int i = 0; i < 4; ++i) x.mutable_cpu_data()[i] = i + 1;
  layer->forward(ctx, bottom, top);
  EXPECT_DOUBLE_EQ(layer->blobs()[2]->cpu_data()[0], 1.0);
  EXPECT_DOUBLE_EQ(layer->blobs()[0]->cpu_data()[0], 2.5);
  EXPECT_NEAR(layer->blobs()[1]->cpu_data()[0], 5.0 / 3, 1e-6);
  for (int i = 0; i < 4; ++i) x.mutable_cpu_data()[i] = 2 * (i + 1);
  layer->forward(ctx, bottom, top);
  EXPECT_NEAR(layer->blobs()[2]->cpu_data()[0], 1.999, 1e-6);
  EXPECT_NEAR(layer->blobs()[0]->cpu_data()[0], 5 + 0.999 * 2.5, 1e-6);
  EXPECT_NEAR(layer->blobs()[1]->cpu_data()[0], 20.0 / 3 + 0.999 * 5.0 / 3, 1e-6);
  // The stored statistics (sums / factor) normalize the next TEST-style forward.
  EXPECT_NEAR(layer->blobs()[0]->cpu_data()[0] / layer->blobs()[2]->cpu_data()[0],
              (5 + 0.999 * 2.5) / 1.999, 1e-6);

  // Several channels and spatial positions against the reference state.
  Tensor<double> x2({3, 4, 2, 3}), y2;
  TensorVec<double> b2{&x2}, t2{&y2};
  auto l2 = make_layer<double>(bn_text("moving_average_fraction: 0.8"), ctx, b2, t2);
  ref::BatchNormState st{std::vector<double>(4), std::vector<double>(4), 0};
  for (int it = 0; it < 2; ++it) {
    fill_uniform(x2, -1, 2, 40 + it);
    l2->forward(ctx, b2, t2);
    ref::batch_norm_train(x2.cpu_data(), 3, 4, 6, double{0.8f}, kEps, &st);
  }
  EXPECT_NEAR(l2->blobs()[2]->cpu_data()[0], st.factor, 1e-12);
  test::expect_near(l2->blobs()[0]->cpu_data(), st.mean_sum.data(), 4, 1e-12, "mean sum");
  test::expect_near(l2->blobs()[1]->cpu_data(), st.var_sum.data(), 4, 1e-12, "var sum");
}

TEST(BatchNorm, TestPhaseUsesStoredStatistics) {
  Context ctx = Context::cpu(1);
  Tensor<double> x({3, 2, 2, 2}), y;
  fill_uniform(x, -1, 1, 3);
  TensorVec<double> bottom{&x}, top{&y};
  auto layer = make_layer<double>(bn_text("", "phase: TEST"), ctx, bottom, top);
  auto* bl = static_cast<BatchNormLayer<double>*>(layer.get());
  EXPECT_TRUE(bl->use_global_stats());
  ref::BatchNormState st{{0.4, -1.0}, {2.0, 0.5}, 2.0};
  std::copy(st.mean_sum.begin(), st.mean_sum.end(), layer->blobs()[0]->mutable_cpu_data());
  std::copy(st.var_sum.begin(), st.var_sum.end(), layer->blobs()[1]->mutable_cpu_data());
  layer->blobs()[2]->mutable_cpu_data()[0] = st.factor;
  layer->forward(ctx, bottom, top);
  auto want = ref::batch_norm_global(x.cpu_data(), 3, 2, 4, kEps, st);
  test::expect_near(y.cpu_data(), want.data(), y.count(), 1e-12, "top");
  // Stored statistics are read, never written.
  EXPECT_EQ(layer->blobs()[2]->cpu_data()[0], 2.0);
  EXPECT_EQ(layer->blobs()[0]->cpu_data()[0], 0.4);

  // A zero factor (never trained) means zero statistics, as in Caffe.
  layer->blobs()[2]->mutable_cpu_data()[0] = 0;
  layer->forward(ctx, bottom, top);
  st.factor = 0;
  want = ref::batch_norm_global(x.cpu_data(), 3, 2, 4, kEps, st);
  test::expect_near(y.cpu_data(), want.data(), y.count(), 1e-12, "top, factor 0");
}

TEST(BatchNorm, UseGlobalStatsOverridesThePhase) {
  Context ctx = Context::cpu(1);
  Tensor<double> x({4, 2, 3}), y;
  fill_uniform(x, -1, 1, 4);
  TensorVec<double> bottom{&x}, top{&y};
  // TEST phase with batch statistics.
  auto test_batch =
      make_layer<double>(bn_text("use_global_stats: false", "phase: TEST"), ctx, bottom, top);
  test_batch->forward(ctx, bottom, top);
  ref::BatchNormState st{std::vector<double>(2), std::vector<double>(2), 0};
  auto want = ref::batch_norm_train(x.cpu_data(), 4, 2, 3, double{0.999f}, kEps, &st);
  test::expect_near(y.cpu_data(), want.data(), y.count(), 1e-12, "batch stats in TEST");
  EXPECT_EQ(test_batch->blobs()[2]->cpu_data()[0], 1.0);
  // TRAIN phase with stored statistics: nothing is updated.
  auto train_global = make_layer<double>(bn_text("use_global_stats: true"), ctx, bottom, top);
  train_global->blobs()[0]->set_data(1.0);
  train_global->blobs()[1]->set_data(3.0);
  train_global->blobs()[2]->set_data(1.0);
  train_global->forward(ctx, bottom, top);
  ref::BatchNormState fixed{{1.0, 1.0}, {3.0, 3.0}, 1.0};
  want = ref::batch_norm_global(x.cpu_data(), 4, 2, 3, kEps, fixed);
  test::expect_near(y.cpu_data(), want.data(), y.count(), 1e-12, "stored stats in TRAIN");
  EXPECT_EQ(train_global->blobs()[2]->cpu_data()[0], 1.0);
  EXPECT_EQ(train_global->blobs()[1]->cpu_data()[1], 3.0);
}

// The gradient flows through the batch mean and variance.
TEST(BatchNorm, GradientThroughBatchStatistics) {
  for (const auto& s : shapes()) {
    SCOPED_TRACE(shape_string(s));
    Context ctx = Context::cpu(1);
    Tensor<double> x(s), y;
    fill_uniform(x, -1, 2, 9);
    TensorVec<double> bottom{&x}, top{&y};
    auto layer = make_layer<double>(bn_text(), ctx, bottom, top);
    check_gradient(*layer, ctx, bottom, top);
  }
}

TEST(BatchNorm, GradientWithGlobalStatistics) {
  Context ctx = Context::cpu(1);
  Tensor<double> x({2, 3, 2, 2}), y;
  fill_uniform(x, -1, 2, 10);
  TensorVec<double> bottom{&x}, top{&y};
  auto layer = make_layer<double>(bn_text("use_global_stats: true"), ctx, bottom, top);
  fill_uniform(*layer->blobs()[0], -1, 1, 11);
  fill_uniform(*layer->blobs()[1], 0.5, 2, 12);
  layer->blobs()[2]->set_data(1.5);
  check_gradient(*layer, ctx, bottom, top);
}

// The blobs are statistics: lr_mult 0 is added for each, and no gradient reaches them.
TEST(BatchNorm, StatisticsAreNotLearned) {
  Context ctx = Context::cpu(1);
  Tensor<float> x({2, 3}), y;
  TensorVec<float> bottom{&x}, top{&y};
  auto layer = make_layer<float>(bn_text(), ctx, bottom, top);
  ASSERT_EQ(layer->layer_param().param_size(), 3);
  for (int k = 0; k < 3; ++k) {
    EXPECT_EQ(layer->layer_param().param(k).lr_mult(), 0.f);
    EXPECT_FALSE(layer->param_propagate_down(k));
  }
  auto explicit_zero = make_layer<float>(
      bn_text("", "param { lr_mult: 0 } param { lr_mult: 0 decay_mult: 0 }"), ctx, bottom, top);
  EXPECT_EQ(explicit_zero->layer_param().param_size(), 3);
}

// In place gives the same top data and bottom diff as a separate top.
TEST(BatchNorm, InPlaceMatchesSeparateTop) {
  for (const char* params : {"", "use_global_stats: true"}) {
    SCOPED_TRACE(params);
    Context ctx = Context::cpu(1);
    Tensor<double> x({3, 2, 2, 3}), y, z({3, 2, 2, 3});
    fill_uniform(x, -1, 2, 5);
    z.copy_from(x);
    TensorVec<double> bottom{&x}, top{&y}, same{&z};
    auto sep = make_layer<double>(bn_text(params), ctx, bottom, top);
    auto inp = make_layer<double>(bn_text(params), ctx, same, same);
    for (auto* l : {sep.get(), inp.get()}) {
      l->blobs()[0]->set_data(0.5);
      l->blobs()[1]->set_data(2.0);
      l->blobs()[2]->set_data(1.0);
    }
    sep->forward(ctx, bottom, top);
    inp->forward(ctx, same, same);
    test::expect_near(z.cpu_data(), y.cpu_data(), y.count(), 0, "in-place top");
    fill_uniform(y, -1, 1, 6);
    std::copy(y.cpu_data(), y.cpu_data() + y.count(), y.mutable_cpu_diff());
    std::copy(y.cpu_data(), y.cpu_data() + y.count(), z.mutable_cpu_diff());
    sep->backward(ctx, top, {true}, bottom);
    inp->backward(ctx, same, {true}, same);
    test::expect_near(z.cpu_diff(), x.cpu_diff(), x.count(), 0, "in-place bottom diff");
  }
}

// Every body is a GATHER: 1 and 2 threads give the same bits. 300 channels and 600 rows make
// both the per-channel and the per-row loops run on two threads.
TEST(BatchNorm, ThreadCountDoesNotChangeResults) {
  for (const char* params : {"", "use_global_stats: true"}) {
    SCOPED_TRACE(params);
    auto run = [&](int threads, std::vector<float>* out) {
      Context ctx = Context::cpu(threads);
      Tensor<float> x({2, 300, 3, 3}), y;
      fill_uniform(x, -1, 2, 3);
      TensorVec<float> bottom{&x}, top{&y};
      auto layer = make_layer<float>(bn_text(params), ctx, bottom, top);
      layer->blobs()[1]->set_data(1.f);
      layer->blobs()[2]->set_data(1.f);
      layer->forward(ctx, bottom, top);
      out->assign(y.cpu_data(), y.cpu_data() + y.count());
      fill_uniform(y, -1, 1, 4);
      std::copy(y.cpu_data(), y.cpu_data() + y.count(), y.mutable_cpu_diff());
      layer->backward(ctx, top, {true}, bottom);
      out->insert(out->end(), x.cpu_diff(), x.cpu_diff() + x.count());
      for (auto& p : layer->blobs())
        out->insert(out->end(), p->cpu_data(), p->cpu_data() + p->count());
    };
    std::vector<float> one, two;
    run(1, &one);
    run(2, &two);
    Context::cpu(1);
    ASSERT_EQ(one.size(), two.size());
    EXPECT_EQ(std::memcmp(one.data(), two.data(), one.size() * sizeof(float)), 0);
  }
}

TEST(BatchNorm, BadParametersThrowConfigError) {
  Context ctx = Context::cpu(1);
  Tensor<float> x({2, 3, 2, 2}), y, x2({2, 3, 2, 2}), y2;
  TensorVec<float> bottom{&x}, top{&y};
  for (const char* p :
       {"eps: 0", "eps: -1e-5", "moving_average_fraction: 1.5", "moving_average_fraction: -0.1"}) {
    SCOPED_TRACE(p);
    EXPECT_THROW(make_layer<float>(bn_text(p), ctx, bottom, top), ConfigError);
  }
  // The statistics may not be learned.
  EXPECT_THROW(make_layer<float>(bn_text("", "param { lr_mult: 1 }"), ctx, bottom, top),
               ConfigError);
  // One bottom, one top.
  TensorVec<float> two_bottoms{&x, &x2}, two_tops{&y, &y2};
  EXPECT_THROW(make_layer<float>(bn_text(), ctx, two_bottoms, two_tops), ConfigError);
  EXPECT_THROW(make_layer<float>(bn_text(), ctx, bottom, two_tops), ConfigError);
}

TEST(BatchNorm, BadShapesThrowShapeError) {
  Context ctx = Context::cpu(1);
  Tensor<float> scalar(std::vector<int64_t>{}), y;
  TensorVec<float> sb{&scalar}, top{&y};
  EXPECT_THROW(make_layer<float>(bn_text(), ctx, sb, top), ShapeError);
  Tensor<float> x({2, 3, 2, 2});
  TensorVec<float> bottom{&x};
  auto layer = make_layer<float>(bn_text(), ctx, bottom, top);
  x.reshape({2, 4, 2, 2});  // channels changed after setup
  EXPECT_THROW(layer->forward(ctx, bottom, top), ShapeError);
}

// The GPU path against the CPU: batch statistics through cuDNN (TRAIN, also in place), stored
// statistics through cuDNN's inference pass (TEST, use_global_stats), a 2-d bottom, and one
// element per channel (batch 1, 2-d: the bodies; the harness's second round has batch 2: cuDNN).
// cuDNN sums in its own order and computes the variance its own way: 1e-4 in float (values are
// O(1)), 1e-10 in double.
TEST(GpuBatchNorm, LayerMatchesCpu) {
  CREMA_REQUIRE_GPU();
  struct Case {
    std::string text;
    std::vector<int64_t> shape;
    bool in_place;
  };
  const std::vector<Case> cases = {
      {bn_text("eps: 0.001"), {4, 3, 5, 6}, false},
      {bn_text("eps: 0.001"), {4, 3, 5, 6}, true},
      {bn_text("use_global_stats: false", "phase: TEST"), {4, 3, 5, 6}, false},
      {bn_text("use_global_stats: true"), {4, 3, 5, 6}, false},
      {bn_text("use_global_stats: true"), {4, 3, 5, 6}, true},
      {bn_text(), {16, 7}, false},
      {bn_text(), {1, 7}, false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    test::expect_gpu_matches_cpu<float>(c.text, {c.shape},
                                        {.tol = 1e-4, .in_place = c.in_place, .lo = -2, .hi = 3});
    test::expect_gpu_matches_cpu<double>(c.text, {c.shape},
                                         {.tol = 1e-10, .in_place = c.in_place, .lo = -2, .hi = 3});
  }
}

// Stored statistics from a TRAIN forward on the GPU drive a later TEST pass: the running sums the
// cuDNN path keeps (unbiased variance, Caffe's factor) are Caffe's.
TEST(GpuBatchNorm, RunningStatisticsMatchCpu) {
  CREMA_REQUIRE_GPU();
  Context cpu = Context::cpu(1);
  Context gpu = Context::gpu(0, 1);
  Tensor<double> xc({4, 3, 5, 6}), yc, xg({4, 3, 5, 6}), yg;
  auto lc = test::make_layer<double>(bn_text("moving_average_fraction: 0.9"), cpu, {&xc}, {&yc});
  auto lg = test::make_layer<double>(bn_text("moving_average_fraction: 0.9"), gpu, {&xg}, {&yg});
  for (int it = 0; it < 3; ++it) {
    test::fill_uniform(xc, -2, 3, 140 + it);
    xg.copy_from(xc);
    lc->forward(cpu, {&xc}, {&yc});
    lg->forward(gpu, {&xg}, {&yg});
  }
  for (int k = 0; k < 3; ++k)
    test::expect_close(lg->blobs()[k]->cpu_data(), lc->blobs()[k]->cpu_data(),
                       lc->blobs()[k]->count(), 1e-10, "blob " + std::to_string(k));
}

}  // namespace
}  // namespace crema
