#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "core/io.h"
#include "ops/def_pooling_layer.h"
#include "tests/cuda_test_util.h"
#include "tests/gpu_compare.h"
#include "tests/layer_checks.h"
#include "tests/reference/def_pooling_ref.h"
#include "tests/test_util.h"

namespace crema {
namespace {

using test::check_gradient;
using test::fill_uniform;
using test::make_layer;

template <class T>
const DefPoolingLayer<T>& as_def(const std::unique_ptr<Layer<T>>& layer) {
  return dynamic_cast<const DefPoolingLayer<T>&>(*layer);
}

std::string def_text(const std::string& params) {
  return "name: 'defpool' type: 'DefPooling' def_pooling_param { " + params + " }";
}

// Distinct values spaced 0.1 apart (shuffled).
template <class T>
void fill_distinct(Tensor<T>& t, uint64_t seed) {
  std::vector<int64_t> order(static_cast<size_t>(t.count()));
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), std::mt19937_64(seed));
  for (int64_t i = 0; i < t.count(); ++i)
    t.mutable_cpu_data()[i] = static_cast<T>(0.1 * (order[i] - t.count() / 2.0));
}

// Penalties in [-0.15, 0.35): large enough to move the argmax away from the plain max.
template <class T>
void set_penalty(Layer<T>& layer, uint64_t seed) {
  fill_uniform(*layer.blobs()[0], -0.15, 0.35, seed);
}

// Smallest gap between the winner and any other candidate of a window (x - penalty), so the
// gradient checks can prove no finite-difference step flips an argmax.
template <class T>
double min_margin(const Tensor<T>& x, const T* a, const ref::DefPoolGeom& g) {
  const int64_t num = x.shape(0), channels = x.shape(1), height = x.shape(2), width = x.shape(3);
  const auto r = ref::def_pool_forward(x.cpu_data(), a, num, channels, height, width, g);
  double margin = std::numeric_limits<double>::infinity();
  size_t o = 0;
  for (int64_t n = 0; n < num; ++n)
    for (int64_t c = 0; c < channels; ++c)
      for (int64_t oy = 0; oy < r.out_h; ++oy)
        for (int64_t ox = 0; ox < r.out_w; ++ox, ++o) {
          for (int64_t dy = -g.radius; dy <= g.radius; ++dy)
            for (int64_t dx = -g.radius; dx <= g.radius; ++dx) {
              const int64_t h = oy * g.stride - g.pad + g.radius + dy;
              const int64_t w = ox * g.stride - g.pad + g.radius + dx;
              if (h < 0 || h >= height || w < 0 || w >= width) continue;
              if (dy == r.best_dy[o] && dx == r.best_dx[o]) continue;
              const double pen = double(a[c * 4]) * dx + double(a[c * 4 + 1]) * dy +
                                 double(a[c * 4 + 2]) * dx * dx + double(a[c * 4 + 3]) * dy * dy;
              const double v = x.cpu_data()[((n * channels + c) * height + h) * width + w] - pen;
              margin = std::min(margin, r.y[o] - v);
            }
        }
  return margin;
}

// Fills x with distinct values and the penalties with random ones, trying seeds from `seed`
// until every window's winner leads by more than 2e-3: then a finite-difference step (1e-4 on
// x or on one a_ck, which moves a candidate by at most 4 R^2 1e-4) cannot flip an argmax, and
// float rounding cannot either. Deterministic: the same seed is chosen on every run.
template <class T>
void fill_clear_winners(Tensor<T>& x, Layer<T>& layer, const ref::DefPoolGeom& g, uint64_t seed) {
  for (uint64_t s = seed; s < seed + 200; ++s) {
    fill_distinct(x, s);
    set_penalty(layer, s + 1000);
    if (min_margin(x, layer.blobs()[0]->cpu_data(), g) > 2e-3) return;
  }
  FAIL() << "test bug: no seed without near ties";
}

struct DefCase {
  std::string params;
  ref::DefPoolGeom geom;
  std::vector<int64_t> shape;
  int64_t out_h, out_w;
};

// H' = floor((H + 2 pad - 2R - 1) / s) + 1; pad defaults to R.
std::vector<DefCase> def_cases() {
  return {
      {"radius: 1 stride: 1", {1, 1, 1}, {2, 3, 6, 5}, 6, 5},
      {"radius: 2 stride: 2", {2, 2, 2}, {2, 2, 9, 8}, 5, 4},
      {"radius: 1 stride: 2", {1, 2, 1}, {1, 2, 6, 7}, 3, 4},
      {"kernel_size: 5 stride: 1", {2, 1, 2}, {1, 2, 5, 6}, 5, 6},
      {"radius: 1 stride: 1 pad: 0", {1, 1, 0}, {2, 2, 5, 4}, 3, 2},
      {"radius: 2 stride: 3 pad: 1", {2, 3, 1}, {1, 3, 8, 7}, 2, 2},
      // pad > radius: the first row and column of windows lie wholly outside the map.
      {"radius: 1 stride: 3 pad: 3", {1, 3, 3}, {2, 2, 5, 4}, 3, 3},
  };
}

// Adds to *moved how many windows pick another position than plain max pooling would.
template <class T>
void check_forward(const DefCase& c, double tol, int* moved) {
  SCOPED_TRACE(c.params);
  Context ctx = Context::cpu(1);
  Tensor<T> x(c.shape), y, idx;
  TensorVec<T> bottom{&x}, top{&y, &idx};
  auto layer = make_layer<T>(def_text(c.params), ctx, bottom, top);
  fill_clear_winners(x, *layer, c.geom, 5);
  layer->forward(ctx, bottom, top);
  ASSERT_EQ(y.shape(), (std::vector<int64_t>{c.shape[0], c.shape[1], c.out_h, c.out_w}));
  ASSERT_EQ(idx.shape(), y.shape());
  const T* a = layer->blobs()[0]->cpu_data();
  const auto want = ref::def_pool_forward(x.cpu_data(), a, c.shape[0], c.shape[1], c.shape[2],
                                          c.shape[3], c.geom);
  ASSERT_EQ(want.out_h, c.out_h);
  ASSERT_EQ(want.out_w, c.out_w);
  test::expect_near_ref(y.cpu_data(), want.y.data(), y.count(), tol, "top");
  const int64_t side = 2 * c.geom.radius + 1;
  for (int64_t i = 0; i < y.count(); ++i) {
    const double k = want.empty[i] ? -1.0
                                   : static_cast<double>((want.best_dy[i] + c.geom.radius) * side +
                                                         want.best_dx[i] + c.geom.radius);
    EXPECT_EQ(idx.cpu_data()[i], static_cast<T>(k)) << "argmax[" << i << "]";
    EXPECT_EQ(as_def(layer).argmax()[i], static_cast<int32_t>(k)) << "argmax[" << i << "]";
  }
  // With a = 0 some windows would pick another position: the penalties matter.
  std::vector<T> zero(static_cast<size_t>(layer->blobs()[0]->count()), T(0));
  const auto plain = ref::def_pool_forward(x.cpu_data(), zero.data(), c.shape[0], c.shape[1],
                                           c.shape[2], c.shape[3], c.geom);
  for (size_t i = 0; i < plain.y.size(); ++i)
    *moved += plain.best_dy[i] != want.best_dy[i] || plain.best_dx[i] != want.best_dx[i];
}

TEST(DefPooling, ForwardAndArgmaxMatchNaiveReference) {
  int moved = 0;
  for (const auto& c : def_cases()) {
    check_forward<double>(c, 1e-12, &moved);
    check_forward<float>(c, 1e-6, &moved);
  }
  EXPECT_GT(moved, 20) << "test bug: the penalties rarely change a winner";
}

template <class T>
void check_backward(const DefCase& c, double tol) {
  SCOPED_TRACE(c.params);
  Context ctx = Context::cpu(1);
  Tensor<T> x(c.shape), y;
  TensorVec<T> bottom{&x}, top{&y};
  auto layer = make_layer<T>(def_text(c.params), ctx, bottom, top);
  fill_clear_winners(x, *layer, c.geom, 8);
  layer->forward(ctx, bottom, top);
  const auto dy = test::random_values<T>(y.count(), 10);
  std::copy(dy.begin(), dy.end(), y.mutable_cpu_diff());
  x.set_diff(T(7));
  layer->blobs()[0]->set_diff(T(0));
  layer->backward(ctx, top, {true}, bottom);
  const auto r = ref::def_pool_forward(x.cpu_data(), layer->blobs()[0]->cpu_data(), c.shape[0],
                                       c.shape[1], c.shape[2], c.shape[3], c.geom);
  const std::vector<double> dyd(dy.begin(), dy.end());
  std::vector<double> dx, da;
  ref::def_pool_backward(r, dyd.data(), c.shape[0], c.shape[1], c.shape[2], c.shape[3], c.geom, &dx,
                         &da);
  test::expect_near_ref(x.cpu_diff(), dx.data(), x.count(), tol, "bottom diff");
  test::expect_near_ref(layer->blobs()[0]->cpu_diff(), da.data(), layer->blobs()[0]->count(), tol,
                        "penalty diff");
}

TEST(DefPooling, BackwardMatchesNaiveReference) {
  for (const auto& c : def_cases()) {
    check_backward<double>(c, 1e-12);
    check_backward<float>(c, 1e-5);
  }
}

// MODELS.md: with a = 0 def-pooling is MAX pooling with a (2R+1)^2 window; compared bitwise
// against Crema's Pooling (kernel 2R + 1, stride s, pad R, FLOOR), forward and backward. The
// quantized input has many exact ties, so both must also break ties the same way (first
// maximum in row-major scan order).
TEST(DefPooling, ZeroPenaltyIsMaxPoolingBitExact) {
  struct Case {
    int64_t radius, stride;
    std::vector<int64_t> shape;
  };
  const std::vector<Case> cases = {{1, 1, {2, 3, 6, 5}},  {1, 2, {2, 2, 7, 6}},
                                   {2, 1, {1, 2, 6, 6}},  {2, 2, {2, 2, 9, 8}},
                                   {2, 3, {1, 3, 8, 10}}, {3, 2, {1, 2, 5, 9}}};
  for (const auto& c : cases) {
    for (bool quantized : {false, true}) {
      SCOPED_TRACE("R " + std::to_string(c.radius) + " s " + std::to_string(c.stride) +
                   (quantized ? " quantized" : ""));
      Context ctx = Context::cpu(1);
      Tensor<float> x(c.shape), y_def, y_pool, x2;
      fill_uniform(x, -2, 2, 31);
      if (quantized)
        for (int64_t i = 0; i < x.count(); ++i)
          x.mutable_cpu_data()[i] = std::floor(x.cpu_data()[i]);
      x2.copy_from(x, false, true);
      TensorVec<float> b1{&x}, t1{&y_def}, b2{&x2}, t2{&y_pool};
      auto def = make_layer<float>(
          def_text("radius: " + std::to_string(c.radius) + " stride: " + std::to_string(c.stride) +
                   " penalty_filler { type: 'constant' value: 0 }"),
          ctx, b1, t1);
      const int64_t k = 2 * c.radius + 1;
      auto pool = make_layer<float>(
          "name: 'p' type: 'Pooling' pooling_param { pool: MAX kernel_size: " + std::to_string(k) +
              " stride: " + std::to_string(c.stride) + " pad: " + std::to_string(c.radius) +
              " round_mode: FLOOR }",
          ctx, b2, t2);
      def->forward(ctx, b1, t1);
      pool->forward(ctx, b2, t2);
      ASSERT_EQ(y_def.shape(), y_pool.shape());
      EXPECT_EQ(0, std::memcmp(y_def.cpu_data(), y_pool.cpu_data(), sizeof(float) * y_def.count()))
          << "forward differs";
      const auto dy = test::random_values<float>(y_def.count(), 32);
      std::copy(dy.begin(), dy.end(), y_def.mutable_cpu_diff());
      std::copy(dy.begin(), dy.end(), y_pool.mutable_cpu_diff());
      def->backward(ctx, t1, {true}, b1);
      pool->backward(ctx, t2, {true}, b2);
      EXPECT_EQ(0, std::memcmp(x.cpu_diff(), x2.cpu_diff(), sizeof(float) * x.count()))
          << "backward differs";
    }
  }
}

// H' = floor((H - 1) / s) + 1 with the default pad = radius: every anchor s * y is in the map.
TEST(DefPooling, DefaultPadAnchorsWindowsAtStrideTimesY) {
  Context ctx = Context::cpu(1);
  for (int64_t h : {1, 2, 5, 6, 7}) {
    for (int64_t s : {1, 2, 3}) {
      Tensor<float> x({1, 1, h, h + 1}), y;
      fill_uniform(x, -1, 1, 4);
      TensorVec<float> bottom{&x}, top{&y};
      auto layer =
          make_layer<float>(def_text("radius: 2 stride: " + std::to_string(s)), ctx, bottom, top);
      EXPECT_EQ(y.shape(2), (h - 1) / s + 1) << "H " << h << " s " << s;
      EXPECT_EQ(y.shape(3), h / s + 1) << "W " << h + 1 << " s " << s;
    }
  }
}

// Outside positions are skipped, not read as 0: on an all-negative map a border window must
// output a (negative) pixel value minus its penalty, never 0.
TEST(DefPooling, OutsidePositionsAreSkippedNotZero) {
  Context ctx = Context::cpu(1);
  Tensor<double> x({1, 2, 4, 5}), y;
  fill_uniform(x, -3, -1, 12);
  TensorVec<double> bottom{&x}, top{&y};
  auto layer = make_layer<double>(
      def_text("radius: 2 stride: 1 penalty_filler { type: 'constant' value: 0 }"), ctx, bottom,
      top);
  layer->forward(ctx, bottom, top);
  for (int64_t i = 0; i < y.count(); ++i) {
    EXPECT_LT(y.cpu_data()[i], -1.0) << i;
    EXPECT_GE(as_def(layer).argmax()[i], 0) << i;
  }
}

// Ties go to the first candidate in scan order (dy, then dx, ascending). On a constant map
// with a = 0 every candidate ties; with only a dx^2 cost the candidates of column dx = 0 tie.
TEST(DefPooling, TiesGoToFirstCandidateInScanOrder) {
  Context ctx = Context::cpu(1);
  Tensor<double> x({1, 1, 4, 4}), y, idx;
  x.set_data(0.5);
  TensorVec<double> bottom{&x}, top{&y, &idx};
  auto layer = make_layer<double>(def_text("radius: 1"), ctx, bottom, top);
  double* a = layer->blobs()[0]->mutable_cpu_data();
  std::fill(a, a + 4, 0.0);
  layer->forward(ctx, bottom, top);
  EXPECT_EQ(idx.cpu_data()[0], 4.0);  // (0, 0): row and column -1 are outside; (0, 0) first
  EXPECT_EQ(idx.cpu_data()[5], 0.0);  // (1, 1): (dy, dx) = (-1, -1)
  EXPECT_EQ(idx.cpu_data()[3], 3.0);  // (0, 3): (0, -1)
  a[2] = 0.25;
  layer->forward(ctx, bottom, top);
  EXPECT_EQ(idx.cpu_data()[5], 1.0);  // (-1, 0)
  EXPECT_EQ(idx.cpu_data()[0], 4.0);  // (0, 0)
  EXPECT_EQ(y.cpu_data()[5], 0.5);
}

// A window with no input position outputs 0 with argmax -1 and passes no gradient anywhere.
TEST(DefPooling, EmptyWindowOutputsZeroAndNoGradient) {
  Context ctx = Context::cpu(1);
  Tensor<double> x({1, 1, 5, 4}), y, idx;
  fill_uniform(x, -3, -1, 13);
  TensorVec<double> bottom{&x}, top{&y, &idx};
  // R 1, s 3, pad 3: anchors at 3 * o - 2, so window row/column 0 covers -3..-1 only.
  auto layer = make_layer<double>(def_text("radius: 1 stride: 3 pad: 3"), ctx, bottom, top);
  layer->forward(ctx, bottom, top);
  ASSERT_EQ(y.shape(), (std::vector<int64_t>{1, 1, 3, 3}));
  for (int64_t oy = 0; oy < 3; ++oy)
    for (int64_t ox = 0; ox < 3; ++ox) {
      const int64_t o = oy * 3 + ox;
      const bool empty = oy == 0 || ox == 0;
      if (empty) {
        EXPECT_EQ(y.cpu_data()[o], 0.0) << o;
        EXPECT_EQ(idx.cpu_data()[o], -1.0) << o;
      } else {
        EXPECT_LT(y.cpu_data()[o], -0.5) << o;
        EXPECT_GE(idx.cpu_data()[o], 0.0) << o;
      }
    }
  // Gradient only from the non-empty outputs: dy = 1 on empty ones, 0 elsewhere.
  for (int64_t o = 0; o < 9; ++o) y.mutable_cpu_diff()[o] = (o / 3 == 0 || o % 3 == 0) ? 1 : 0;
  x.set_diff(7);
  layer->blobs()[0]->set_diff(0);
  layer->backward(ctx, top, {true}, bottom);
  for (int64_t i = 0; i < x.count(); ++i) EXPECT_EQ(x.cpu_diff()[i], 0.0) << i;
  for (int64_t k = 0; k < 4; ++k) EXPECT_EQ(layer->blobs()[0]->cpu_diff()[k], 0.0) << k;
}

TEST(DefPooling, PenaltyInitialisation) {
  Context ctx = Context::cpu(1);
  Tensor<float> x({1, 3, 4, 4}), y;
  TensorVec<float> bottom{&x}, top{&y};
  auto by_default = make_layer<float>(def_text("radius: 1"), ctx, bottom, top);
  ASSERT_EQ(by_default->blobs().size(), 1u);
  ASSERT_EQ(by_default->blobs()[0]->shape(), (std::vector<int64_t>{3, 4}));
  for (int64_t c = 0; c < 3; ++c) {
    const float* a = by_default->blobs()[0]->cpu_data() + c * 4;
    EXPECT_EQ(a[0], 0.0f);
    EXPECT_EQ(a[1], 0.0f);
    EXPECT_EQ(a[2], 0.05f);
    EXPECT_EQ(a[3], 0.05f);
  }
  auto filled = make_layer<float>(
      def_text("radius: 1 penalty_filler { type: 'constant' value: 0.1 }"), ctx, bottom, top);
  for (int64_t i = 0; i < 12; ++i) EXPECT_EQ(filled->blobs()[0]->cpu_data()[i], 0.1f) << i;
}

TEST(DefPooling, GradientDouble) {
  for (const auto& c : def_cases()) {
    SCOPED_TRACE(c.params);
    Context ctx = Context::cpu(1);
    Tensor<double> x(c.shape), y;
    TensorVec<double> bottom{&x}, top{&y};
    auto layer = make_layer<double>(def_text(c.params), ctx, bottom, top);
    fill_clear_winners(x, *layer, c.geom, 17);
    check_gradient(*layer, ctx, bottom, top);
  }
}

TEST(DefPooling, ParamDiffAccumulates) {
  Context ctx = Context::cpu(1);
  Tensor<double> x({2, 2, 5, 5}), y;
  fill_distinct(x, 3);
  TensorVec<double> bottom{&x}, top{&y};
  auto layer = make_layer<double>(def_text("radius: 1"), ctx, bottom, top);
  set_penalty(*layer, 4);
  layer->forward(ctx, bottom, top);
  const auto dy = test::random_values<double>(y.count(), 5);
  std::copy(dy.begin(), dy.end(), y.mutable_cpu_diff());
  layer->blobs()[0]->set_diff(0);
  layer->backward(ctx, top, {false}, bottom);
  const std::vector<double> once(layer->blobs()[0]->cpu_diff(), layer->blobs()[0]->cpu_diff() + 8);
  layer->backward(ctx, top, {false}, bottom);
  bool any = false;
  for (int k = 0; k < 8; ++k) {
    EXPECT_DOUBLE_EQ(layer->blobs()[0]->cpu_diff()[k], 2 * once[k]) << k;
    any = any || once[k] != 0;
  }
  EXPECT_TRUE(any);
}

// Every body is a GATHER: 1 and 2 threads agree bitwise (outputs, input and penalty diffs).
TEST(DefPooling, ThreadCountDoesNotChangeResults) {
  Tensor<float> x({2, 6, 12, 11});
  fill_uniform(x, -1, 1, 41);
  test::expect_thread_invariant<float>(
      def_text("radius: 2 stride: 1 penalty_filler { type: 'uniform' min: -0.1 max: 0.3 }"), x);
  test::expect_thread_invariant<float>(
      def_text("radius: 1 stride: 2 penalty_filler { type: 'uniform' min: -0.1 max: 0.3 }"), x);
}

// Golden files from an independent PyTorch formulation (tests/golden/make_def_pooling.py).
TEST(DefPooling, MatchesPyTorchGolden) {
  struct Case {
    int64_t radius, stride, pad;
  };
  const std::vector<Case> cases = {{1, 1, 1}, {2, 2, 2}, {1, 2, 1}, {1, 3, 3}};
  const std::string dir = std::string(CREMA_SOURCE_DIR) + "/tests/golden/def_pooling/";
  for (size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE("case " + std::to_string(i));
    auto load = [&](const std::string& name) {
      return read_npy(dir + "case" + std::to_string(i) + "_" + name + ".npy");
    };
    const auto gx = load("x"), ga = load("a"), gdy = load("dy"), gy = load("y"),
               gidx = load("argmax"), gdx = load("dx"), gda = load("da");
    Context ctx = Context::cpu(1);
    Tensor<double> x(gx.shape), y, idx;
    std::copy(gx.data.begin(), gx.data.end(), x.mutable_cpu_data());
    TensorVec<double> bottom{&x}, top{&y, &idx};
    const Case& c = cases[i];
    auto layer = make_layer<double>(
        def_text("radius: " + std::to_string(c.radius) + " stride: " + std::to_string(c.stride) +
                 " pad: " + std::to_string(c.pad)),
        ctx, bottom, top);
    ASSERT_EQ(layer->blobs()[0]->shape(), ga.shape);
    std::copy(ga.data.begin(), ga.data.end(), layer->blobs()[0]->mutable_cpu_data());
    layer->forward(ctx, bottom, top);
    ASSERT_EQ(y.shape(), gy.shape);
    test::expect_near_ref(y.cpu_data(), gy.data.data(), y.count(), 1e-12, "top");
    for (int64_t o = 0; o < y.count(); ++o)
      EXPECT_EQ(idx.cpu_data()[o], gidx.data[o]) << "argmax[" << o << "]";
    std::copy(gdy.data.begin(), gdy.data.end(), y.mutable_cpu_diff());
    x.set_diff(7);
    layer->blobs()[0]->set_diff(0);
    layer->backward(ctx, top, {true}, bottom);
    test::expect_near_ref(x.cpu_diff(), gdx.data.data(), x.count(), 1e-12, "bottom diff");
    test::expect_near_ref(layer->blobs()[0]->cpu_diff(), gda.data.data(), gda.data.size(), 1e-12,
                          "penalty diff");
  }
}

template <class E>
void expect_setup_throws(const std::string& params, const std::vector<int64_t>& shape) {
  SCOPED_TRACE(params);
  Context ctx = Context::cpu(1);
  Tensor<float> x(shape), y;
  TensorVec<float> bottom{&x}, top{&y};
  EXPECT_THROW(make_layer<float>(def_text(params), ctx, bottom, top), E);
}

TEST(DefPooling, BadParametersThrowConfigError) {
  const std::vector<int64_t> s{1, 2, 6, 6};
  expect_setup_throws<ConfigError>("kernel_size: 4", s);  // even window
  expect_setup_throws<ConfigError>("kernel_size: 3 radius: 2", s);
  expect_setup_throws<ConfigError>("stride: 0", s);
  expect_setup_throws<ConfigError>("radius: 100000", s);
  Context ctx = Context::cpu(1);
  Tensor<float> x(s), y, y2, y3;
  TensorVec<float> bottom{&x};
  EXPECT_THROW(make_layer<float>(def_text("radius: 1"), ctx, bottom, {&y, &y2, &y3}), ConfigError);
  EXPECT_THROW(make_layer<float>(def_text("radius: 1"), ctx, bottom, {&x}), ConfigError);
  EXPECT_NO_THROW(make_layer<float>(def_text("kernel_size: 3 radius: 1"), ctx, bottom, {&y}));
}

TEST(DefPooling, BadShapesThrowShapeError) {
  expect_setup_throws<ShapeError>("radius: 1", {2, 6, 6});
  expect_setup_throws<ShapeError>("radius: 2 pad: 0", {1, 1, 4, 6});  // 5x5 window, H 4
  expect_setup_throws<ShapeError>("radius: 2 pad: 0", {1, 1, 6, 3});
  // The penalty blob is per channel: a later input with another C does not fit.
  Context ctx = Context::cpu(1);
  Tensor<float> x({1, 2, 6, 6}), y;
  TensorVec<float> bottom{&x}, top{&y};
  auto layer = make_layer<float>(def_text("radius: 1"), ctx, bottom, top);
  x.reshape({1, 3, 6, 6});
  EXPECT_THROW(layer->reshape(ctx, bottom, top), ShapeError);
  x.reshape({1, 2, 9, 4});  // other H x W is fine
  EXPECT_NO_THROW(layer->reshape(ctx, bottom, top));
  EXPECT_EQ(y.shape(), (std::vector<int64_t>{1, 2, 9, 4}));
}

// The CUDA launchers run the same bodies: outputs, argmax and diffs equal the CPU layer's.
// Inputs, penalties and dy are small dyadic numbers so every product and sum is exact and
// FMA contraction on the device cannot change a bit.
TEST(GpuDefPooling, LaunchersMatchCpu) {
  CREMA_REQUIRE_GPU();
#if CREMA_WITH_CUDA
  Context ctx = Context::cpu(1);
  Tensor<float> x({2, 3, 9, 8}), y, idx;
  fill_uniform(x, -4, 4, 51);
  for (int64_t i = 0; i < x.count(); ++i)
    x.mutable_cpu_data()[i] = std::round(x.cpu_data()[i] * 64) / 64;
  TensorVec<float> bottom{&x}, top{&y, &idx};
  auto layer = make_layer<float>(def_text("radius: 2 stride: 2"), ctx, bottom, top);
  float* a = layer->blobs()[0]->mutable_cpu_data();
  for (int64_t i = 0; i < layer->blobs()[0]->count(); ++i) a[i] = static_cast<float>(i % 7) / 32;
  layer->forward(ctx, bottom, top);
  const auto dyv = test::random_values<float>(y.count(), 52);
  for (int64_t i = 0; i < y.count(); ++i) y.mutable_cpu_diff()[i] = std::round(dyv[i] * 16) / 16;
  layer->blobs()[0]->set_diff(0);
  layer->backward(ctx, {&y}, {true}, {&x});
  const kernels::DefPoolingArgs args = as_def(layer).args();
  const std::vector<float> hx(x.cpu_data(), x.cpu_data() + x.count());
  const std::vector<float> ha(a, a + layer->blobs()[0]->count());
  const std::vector<float> hdy(y.cpu_diff(), y.cpu_diff() + y.count());
  testing::DeviceBuffer<float> dx_in(hx), da_in(ha), ddy(hdy), out(hdy.size()), out_idx(hdy.size()),
      dx(hx.size()), dpen(ha.size());
  testing::DeviceBuffer<int32_t> argmax(hdy.size());
  cuda::launch_def_pooling_forward<float>(nullptr, y.count(), args, dx_in.get(), da_in.get(),
                                          out.get(), argmax.get(), out_idx.get());
  cuda::launch_def_pooling_backward_input<float>(nullptr, x.count(), args, ddy.get(), argmax.get(),
                                                 dx.get());
  cuda::launch_def_pooling_backward_penalty<float>(nullptr, args.channels, args, x.shape(0),
                                                   ddy.get(), argmax.get(), dpen.get());
  const auto gy = out.to_host(), gidx = out_idx.to_host(), gdx = dx.to_host(), gda = dpen.to_host();
  const auto gargmax = argmax.to_host();
  for (int64_t i = 0; i < y.count(); ++i) {
    ASSERT_EQ(gy[i], y.cpu_data()[i]) << i;
    ASSERT_EQ(gidx[i], idx.cpu_data()[i]) << i;
    ASSERT_EQ(gargmax[i], as_def(layer).argmax()[i]) << i;
  }
  for (int64_t i = 0; i < x.count(); ++i) ASSERT_EQ(gdx[i], x.cpu_diff()[i]) << i;
  for (size_t i = 0; i < gda.size(); ++i) ASSERT_EQ(gda[i], layer->blobs()[0]->cpu_diff()[i]) << i;
#endif
}

// The layer's GPU path (forward with device argmax, input and penalty gradients) against its CPU
// path on every geometry case, with random penalties (the same filler seed on both contexts).
// GATHER bodies, but the penalty d(dx, dy) is a sum of products nvcc may fuse: 1e-5 relative
// (x holds distinct values 0.1 apart, so the argmax does not flip). Then the optional second
// top (the argmax as T), which must agree exactly.
TEST(GpuDefPooling, LayerMatchesCpu) {
  CREMA_REQUIRE_GPU();
  const std::string filler = " penalty_filler { type: 'uniform' min: -0.15 max: 0.35 }";
  for (const DefCase& c : def_cases()) {
    SCOPED_TRACE(c.params);
    Tensor<float> x(c.shape);
    fill_distinct(x, 77);
    test::expect_gpu_matches_cpu(def_text(c.params + filler), x, false, test::kGpuMathTol);
  }
  const std::string text = def_text("radius: 2 stride: 2" + filler);
  std::vector<std::vector<float>> argmax;
  for (Context ctx : {Context::cpu(1), Context::gpu(0, 1)}) {
    Tensor<float> x({2, 2, 9, 8}), y, top_argmax;
    fill_distinct(x, 78);
    auto layer = make_layer<float>(text, ctx, {&x}, {&y, &top_argmax});
    layer->forward(ctx, {&x}, {&y, &top_argmax});
    argmax.emplace_back(top_argmax.cpu_data(), top_argmax.cpu_data() + top_argmax.count());
  }
  test::expect_values(argmax[0], argmax[1], 0, "top 1 (argmax)");
}

}  // namespace
}  // namespace crema
