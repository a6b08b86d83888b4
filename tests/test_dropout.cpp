#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "ops/dropout_layer.h"
#include "tests/gpu_compare.h"
#include "tests/layer_checks.h"
#include "tests/reference/dropout_ref.h"
#include "tests/test_util.h"

namespace crema {
namespace {

std::string dropout_text(double p, const char* phase = "TRAIN") {
  return "name: 'drop' type: 'Dropout' phase: " + std::string(phase) +
         " dropout_param { dropout_ratio: " + std::to_string(p) + " }";
}

template <class T>
DropoutLayer<T>& as_dropout(Layer<T>& l) {
  return dynamic_cast<DropoutLayer<T>&>(l);
}

template <class T>
std::vector<T> to(const std::vector<double>& v) {
  return std::vector<T>(v.begin(), v.end());
}

template <class T>
void check_train(double p, uint64_t seed) {
  Context ctx = Context::cpu(1, seed);
  Tensor<T> x({3, 5, 7}), y, dy({3, 5, 7});
  test::fill_uniform(x, -2, 2, 31);
  test::fill_uniform(dy, -1, 1, 32);
  auto layer = test::make_layer<T>(dropout_text(p), ctx, {&x}, {&y});
  const float pf = static_cast<float>(p);
  for (uint64_t call = 0; call < 3; ++call) {
    SCOPED_TRACE(call);
    EXPECT_EQ(as_dropout(*layer).counter(), call);
    layer->forward(ctx, {&x}, {&y});
    const auto keep = ref::dropout_mask(seed, "drop", call, x.count(), pf);
    test::expect_near(y.cpu_data(), to<T>(ref::dropout_apply(x.cpu_data(), keep, pf)).data(),
                      y.count(), 1e-6, "dropout y");
    std::copy(dy.cpu_data(), dy.cpu_data() + dy.count(), y.mutable_cpu_diff());
    x.set_diff(T(7));
    layer->backward(ctx, {&y}, {true}, {&x});
    // Backward is mask * scale applied to dy.
    test::expect_near(x.cpu_diff(), to<T>(ref::dropout_apply(dy.cpu_data(), keep, pf)).data(),
                      x.count(), 1e-6, "dropout dx");
  }
}

TEST(Dropout, TrainMatchesReferenceMaskAndScale) {
  check_train<float>(0.5, 1701);
  check_train<double>(0.3, 42);
  check_train<double>(0.9, 7);
}

TEST(Dropout, ZeroRatioIsIdentityInTrain) {
  Context ctx = Context::cpu(1);
  Tensor<double> x({4, 6}), y;
  test::fill_uniform(x, -1, 1, 3);
  auto layer = test::make_layer<double>(dropout_text(0.0), ctx, {&x}, {&y});
  layer->forward(ctx, {&x}, {&y});
  EXPECT_EQ(0, std::memcmp(x.cpu_data(), y.cpu_data(), sizeof(double) * x.count()));
}

TEST(Dropout, TestPhaseIsIdentity) {
  Context ctx = Context::cpu(1);
  Tensor<double> x({2, 3, 4}), y, dy({2, 3, 4});
  test::fill_uniform(x, -1, 1, 3);
  test::fill_uniform(dy, -1, 1, 4);
  auto layer = test::make_layer<double>(dropout_text(0.6, "TEST"), ctx, {&x}, {&y});
  layer->forward(ctx, {&x}, {&y});
  EXPECT_EQ(0, std::memcmp(x.cpu_data(), y.cpu_data(), sizeof(double) * x.count()));
  EXPECT_EQ(as_dropout(*layer).counter(), 0u);  // TEST forwards draw no mask
  std::copy(dy.cpu_data(), dy.cpu_data() + dy.count(), y.mutable_cpu_diff());
  x.set_diff(7.0);
  layer->backward(ctx, {&y}, {true}, {&x});
  EXPECT_EQ(0, std::memcmp(dy.cpu_data(), x.cpu_diff(), sizeof(double) * x.count()));
  // In-place in TEST leaves data and diff as they are.
  Tensor<double> z;
  z.copy_from(x, false, true);
  auto in = test::make_layer<double>(dropout_text(0.6, "TEST"), ctx, {&z}, {&z});
  in->forward(ctx, {&z}, {&z});
  EXPECT_EQ(0, std::memcmp(x.cpu_data(), z.cpu_data(), sizeof(double) * x.count()));
}

TEST(Dropout, DroppedFractionIsNearRatio) {
  for (double p : {0.1, 0.5, 0.8}) {
    SCOPED_TRACE(p);
    Context ctx = Context::cpu(1);
    Tensor<float> x({10000}), y;
    x.set_data(1.0f);
    auto layer = test::make_layer<float>(dropout_text(p), ctx, {&x}, {&y});
    layer->forward(ctx, {&x}, {&y});
    int64_t dropped = 0;
    for (int64_t i = 0; i < y.count(); ++i) {
      if (y.cpu_data()[i] == 0.0f) {
        ++dropped;
      } else {
        EXPECT_FLOAT_EQ(y.cpu_data()[i], static_cast<float>(1.0 / (1.0 - p)));
      }
    }
    const double n = static_cast<double>(x.count());
    const double sigma = std::sqrt(n * p * (1 - p));
    EXPECT_LE(std::fabs(static_cast<double>(dropped) - n * p), 3 * sigma) << dropped;
  }
}

TEST(Dropout, MaskDependsOnlyOnSeedNameAndCounter) {
  Tensor<float> x({50, 40}), y1, y2, y3;
  x.set_data(1.0f);
  Context ctx = Context::cpu(1, 5), other_seed = Context::cpu(1, 6);
  auto a = test::make_layer<float>(dropout_text(0.5), ctx, {&x}, {&y1});
  auto b = test::make_layer<float>(dropout_text(0.5), ctx, {&x}, {&y2});
  auto c = test::make_layer<float>(dropout_text(0.5), other_seed, {&x}, {&y3});
  a->forward(ctx, {&x}, {&y1});
  b->forward(ctx, {&x}, {&y2});
  c->forward(other_seed, {&x}, {&y3});
  EXPECT_EQ(as_dropout(*a).mask(), as_dropout(*b).mask());  // same seed and counter
  EXPECT_NE(as_dropout(*a).mask(), as_dropout(*c).mask());  // other seed
  const std::vector<uint8_t> first = as_dropout(*a).mask();
  a->forward(ctx, {&x}, {&y1});
  EXPECT_NE(as_dropout(*a).mask(), first);  // next counter
  // Another layer name is another stream.
  auto d = test::make_layer<float>(
      "name: 'drop2' type: 'Dropout' dropout_param { dropout_ratio: 0.5 }", ctx, {&x}, {&y3});
  d->forward(ctx, {&x}, {&y3});
  EXPECT_NE(as_dropout(*d).mask(), first);
}

TEST(Dropout, SaveLoadStateRepeatsTheNextMask) {
  Context ctx = Context::cpu(1);
  Tensor<double> x({6, 7}), y1, y2;
  test::fill_uniform(x, -1, 1, 8);
  auto a = test::make_layer<double>(dropout_text(0.4), ctx, {&x}, {&y1});
  for (int i = 0; i < 3; ++i) a->forward(ctx, {&x}, {&y1});
  const std::string state = a->save_state();
  EXPECT_EQ(state, "3");
  a->forward(ctx, {&x}, {&y1});
  auto b = test::make_layer<double>(dropout_text(0.4), ctx, {&x}, {&y2});
  b->load_state(state);
  EXPECT_EQ(as_dropout(*b).counter(), 3u);
  b->forward(ctx, {&x}, {&y2});
  EXPECT_EQ(as_dropout(*a).mask(), as_dropout(*b).mask());
  EXPECT_EQ(0, std::memcmp(y1.cpu_data(), y2.cpu_data(), sizeof(double) * y1.count()));
  EXPECT_EQ(b->save_state(), "4");
  for (const char* bad : {"", "x", "12a", "-1", "99999999999999999999999"})
    EXPECT_THROW(b->load_state(bad), DataError) << bad;
}

TEST(Dropout, InPlaceEqualsOutOfPlace) {
  Context ctx = Context::cpu(1);
  Tensor<float> x({3, 4, 5}), y, z({3, 4, 5}), dy({3, 4, 5});
  test::fill_uniform(x, -1, 1, 5);
  test::fill_uniform(dy, -1, 1, 6);
  z.copy_from(x);
  auto out = test::make_layer<float>(dropout_text(0.5), ctx, {&x}, {&y});
  auto in = test::make_layer<float>(dropout_text(0.5), ctx, {&z}, {&z});
  out->forward(ctx, {&x}, {&y});
  in->forward(ctx, {&z}, {&z});
  std::copy(dy.cpu_data(), dy.cpu_data() + dy.count(), y.mutable_cpu_diff());
  std::copy(dy.cpu_data(), dy.cpu_data() + dy.count(), z.mutable_cpu_diff());
  out->backward(ctx, {&y}, {true}, {&x});
  in->backward(ctx, {&z}, {true}, {&z});
  EXPECT_EQ(0, std::memcmp(y.cpu_data(), z.cpu_data(), sizeof(float) * y.count()));
  EXPECT_EQ(0, std::memcmp(x.cpu_diff(), z.cpu_diff(), sizeof(float) * x.count()));
}

TEST(Dropout, ThreadCountDoesNotChangeResults) {
  Tensor<float> x({4, 8, 16, 16}), dy({4, 8, 16, 16});  // above parallel_for's serial cutoff
  test::fill_uniform(x, -1, 1, 9);
  test::fill_uniform(dy, -1, 1, 10);
  std::vector<std::vector<float>> ys, dxs;
  for (int threads : {1, 2}) {
    Context ctx = Context::cpu(threads);
    Tensor<float> y;
    auto layer = test::make_layer<float>(dropout_text(0.5), ctx, {&x}, {&y});
    layer->forward(ctx, {&x}, {&y});
    layer->forward(ctx, {&x}, {&y});
    std::copy(dy.cpu_data(), dy.cpu_data() + dy.count(), y.mutable_cpu_diff());
    layer->backward(ctx, {&y}, {true}, {&x});
    ys.emplace_back(y.cpu_data(), y.cpu_data() + y.count());
    dxs.emplace_back(x.cpu_diff(), x.cpu_diff() + x.count());
  }
  EXPECT_EQ(ys[0], ys[1]);
  EXPECT_EQ(dxs[0], dxs[1]);
}

TEST(Dropout, Errors) {
  Context ctx = Context::cpu(1);
  Tensor<float> x({2, 3}), y, z;
  for (double p : {1.0, 1.5, -0.1})
    EXPECT_THROW(test::make_layer<float>(dropout_text(p), ctx, {&x}, {&y}), ConfigError) << p;
  EXPECT_THROW(test::make_layer<float>(dropout_text(0.5), ctx, {&x, &z}, {&y}), ConfigError);
}

// Two TRAIN forwards (counters 0 and 1) and a backward on ctx: the masks, then the last output
// and input gradient.
struct DropoutRun {
  std::vector<std::vector<uint8_t>> masks;
  std::vector<float> y, dx;
};

DropoutRun run_dropout(Context& ctx, const Tensor<float>& x_in, const Tensor<float>& dy,
                       bool in_place) {
  Tensor<float> x, other;
  x.copy_from(x_in, false, true);
  Tensor<float>* y = in_place ? &x : &other;
  auto layer = test::make_layer<float>(dropout_text(0.3), ctx, {&x}, {y});
  DropoutRun r;
  for (int call = 0; call < 2; ++call) {
    if (in_place) x.copy_from(x_in);
    layer->forward(ctx, {&x}, {y});
    r.masks.push_back(as_dropout(*layer).mask());
  }
  r.y.assign(y->cpu_data(), y->cpu_data() + y->count());
  std::copy(dy.cpu_data(), dy.cpu_data() + dy.count(), y->mutable_cpu_diff());
  layer->backward(ctx, {y}, {true}, {&x});
  r.dx.assign(x.cpu_diff(), x.cpu_diff() + x.count());
  return r;
}

// The GPU mask is the CPU mask for the same seed, layer name and counter (the counter-based
// draw runs in the same body on both devices), so outputs and gradients agree bitwise; the TEST
// phase is the identity on the GPU too.
TEST(GpuDropout, LayerMatchesCpu) {
  CREMA_REQUIRE_GPU();
  Tensor<float> x({4, 8, 16, 16}), dy({4, 8, 16, 16});
  test::fill_uniform(x, -1, 1, 61);
  test::fill_uniform(dy, -1, 1, 62);
  Context cpu = Context::cpu(1, 77);
  Context gpu = Context::gpu(0, 1, 77);
  for (bool in_place : {false, true}) {
    SCOPED_TRACE(in_place ? "in-place" : "separate top");
    const DropoutRun want = run_dropout(cpu, x, dy, in_place);
    const DropoutRun got = run_dropout(gpu, x, dy, in_place);
    ASSERT_EQ(got.masks.size(), 2u);
    EXPECT_EQ(got.masks[0], want.masks[0]);
    EXPECT_EQ(got.masks[1], want.masks[1]);
    EXPECT_NE(got.masks[0], got.masks[1]);  // the counter advanced on the GPU too
    EXPECT_EQ(got.y, want.y);
    EXPECT_EQ(got.dx, want.dx);
    test::expect_gpu_matches_cpu(dropout_text(0.3, "TEST"), x, in_place, 0);
  }
}

}  // namespace
}  // namespace crema
