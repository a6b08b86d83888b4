#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "tests/gpu_compare.h"
#include "tests/reference/embed_ref.h"
#include "tests/test_util.h"

namespace crema {
namespace {

std::string embed_text(int n, int k, bool bias, const std::string& extra = "") {
  return "name: 'embed' type: 'Embed' embed_param { num_output: " + std::to_string(n) +
         " input_dim: " + std::to_string(k) + " bias_term: " + (bias ? "true" : "false") +
         " weight_filler { type: 'uniform' min: -1 max: 1 }"
         " bias_filler { type: 'uniform' min: -1 max: 1 } " +
         extra + " }";
}

template <class T>
std::vector<double> to_vec(const Tensor<T>& t, bool diff = false) {
  const T* p = diff ? t.cpu_diff() : t.cpu_data();
  return std::vector<double>(p, p + t.count());
}

template <class T>
void fill_indices(Tensor<T>& t, int64_t k, uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::uniform_int_distribution<int64_t> u(0, k - 1);
  for (int64_t i = 0; i < t.count(); ++i) t.mutable_cpu_data()[i] = static_cast<T>(u(gen));
}

template <class T>
void check_case(const std::vector<int64_t>& shape, int n, int k, bool bias, double tol) {
  SCOPED_TRACE(shape_string(shape) + " N=" + std::to_string(n) + " K=" + std::to_string(k) +
               (bias ? " bias" : ""));
  Context ctx = Context::cpu(1);
  Tensor<T> x(shape), y;
  fill_indices(x, k, 31);
  auto layer = test::make_layer<T>(embed_text(n, k, bias), ctx, {&x}, {&y});
  ASSERT_EQ(layer->blobs().size(), bias ? 2u : 1u);
  ASSERT_EQ(layer->blobs()[0]->shape(), (std::vector<int64_t>{k, n}));
  layer->forward(ctx, {&x}, {&y});
  std::vector<int64_t> want_shape = shape;
  want_shape.push_back(n);
  ASSERT_EQ(y.shape(), want_shape);
  Tensor<T> dy(want_shape);
  test::fill_uniform(dy, -1, 1, 32);
  const auto want =
      ref::embed(to_vec(x), to_vec(*layer->blobs()[0]),
                 bias ? to_vec(*layer->blobs()[1]) : std::vector<double>{}, k, n, to_vec(dy));
  const std::vector<T> wy(want.y.begin(), want.y.end());
  test::expect_near(y.cpu_data(), wy.data(), y.count(), tol, "embed y");
  // Parameter diffs accumulate on top of what is there.
  std::copy(dy.cpu_data(), dy.cpu_data() + dy.count(), y.mutable_cpu_diff());
  for (auto& p : layer->blobs()) p->set_diff(T(1));
  layer->backward(ctx, {&y}, {false}, {&x});
  std::vector<T> wdw, wdb;
  for (double v : want.dw) wdw.push_back(static_cast<T>(1 + v));
  for (double v : want.db) wdb.push_back(static_cast<T>(1 + v));
  test::expect_near(layer->blobs()[0]->cpu_diff(), wdw.data(), k * n, tol, "embed dW");
  if (bias) test::expect_near(layer->blobs()[1]->cpu_diff(), wdb.data(), n, tol, "embed db");
}

TEST(Embed, ForwardBackwardMatchReference) {
  for (bool bias : {true, false}) {
    check_case<double>({4}, 3, 5, bias, 1e-12);
    check_case<float>({2, 3}, 4, 2, bias, 1e-5);
    check_case<double>({2, 1, 3}, 2, 7, bias, 1e-12);
    check_case<float>({16}, 5, 3, bias, 1e-5);  // many repeats of each index
  }
}

TEST(Embed, FillersDefaultToZeroAsCaffe) {
  Context ctx = Context::cpu(1);
  Tensor<float> x({3}), y;
  auto layer = test::make_layer<float>(
      "name: 'e' type: 'Embed' embed_param { num_output: 2 input_dim: 3 "
      "weight_filler { type: 'constant' value: 2 } }",
      ctx, {&x}, {&y});
  ASSERT_EQ(layer->blobs().size(), 2u);
  EXPECT_EQ(layer->blobs()[0]->cpu_data()[5], 2.0f);
  EXPECT_EQ(layer->blobs()[1]->cpu_data()[1], 0.0f);
}

/// Central-difference check of the parameter gradients only (the indices take none).
void check_param_gradient(Layer<double>& layer, Context& ctx, Tensor<double>& x,
                          Tensor<double>& y) {
  layer.forward(ctx, {&x}, {&y});
  Tensor<double> proj(y.shape());
  test::fill_uniform(proj, -1, 1, 41);
  std::copy(proj.cpu_data(), proj.cpu_data() + proj.count(), y.mutable_cpu_diff());
  for (auto& p : layer.blobs()) p->set_diff(0);
  layer.backward(ctx, {&y}, {false}, {&x});
  auto objective = [&] {
    layer.forward(ctx, {&x}, {&y});
    double f = 0;
    for (int64_t i = 0; i < y.count(); ++i) f += y.cpu_data()[i] * proj.cpu_data()[i];
    return f;
  };
  const double h = 1e-4;
  for (size_t b = 0; b < layer.blobs().size(); ++b) {
    Tensor<double>& p = *layer.blobs()[b];
    for (int64_t i = 0; i < p.count(); ++i) {
      const double saved = p.cpu_data()[i];
      p.mutable_cpu_data()[i] = saved + h;
      const double fp = objective();
      p.mutable_cpu_data()[i] = saved - h;
      const double fm = objective();
      p.mutable_cpu_data()[i] = saved;
      EXPECT_NEAR(p.cpu_diff()[i], (fp - fm) / (2 * h), 1e-8) << "param " << b << "[" << i << "]";
    }
  }
}

TEST(Embed, GradientDouble) {
  Context ctx = Context::cpu(1);
  Tensor<double> x({2, 3}), y;
  fill_indices(x, 4, 42);
  x.mutable_cpu_data()[5] = x.cpu_data()[0];  // a repeated index accumulates
  auto layer = test::make_layer<double>(embed_text(3, 4, true), ctx, {&x}, {&y});
  check_param_gradient(*layer, ctx, x, y);
}

TEST(Embed, ThreadsBitwiseIdentical) {
  std::vector<std::vector<float>> out;
  for (int threads : {1, 2}) {
    Context ctx = Context::cpu(threads);
    Tensor<float> x({4, 5}), y;
    fill_indices(x, 6, 43);
    auto layer = test::make_layer<float>(embed_text(300, 6, true), ctx, {&x}, {&y});
    layer->forward(ctx, {&x}, {&y});
    std::vector<float> v(y.cpu_data(), y.cpu_data() + y.count());
    test::fill_uniform(y, -1, 1, 44);
    std::copy(y.cpu_data(), y.cpu_data() + y.count(), y.mutable_cpu_diff());
    for (auto& p : layer->blobs()) p->set_diff(0);
    layer->backward(ctx, {&y}, {false}, {&x});
    for (auto& p : layer->blobs()) v.insert(v.end(), p->cpu_diff(), p->cpu_diff() + p->count());
    out.push_back(std::move(v));
  }
  EXPECT_TRUE(out[0] == out[1]);
}

std::string data_error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const DataError& e) {
    return e.what();
  }
  return "no DataError";
}

TEST(Embed, BadIndicesAreDataErrorsNamingThePosition) {
  Context ctx = Context::cpu(1);
  Tensor<float> x({2, 3}), y;
  fill_indices(x, 5, 45);
  auto layer = test::make_layer<float>(embed_text(2, 5, true), ctx, {&x}, {&y});
  auto forward = [&] { layer->forward(ctx, {&x}, {&y}); };
  EXPECT_NO_THROW(forward());
  x.mutable_cpu_data()[4] = 5;
  x.mutable_cpu_data()[3] = -1;
  EXPECT_NE(data_error_of(forward).find("index -1 at position 3"), std::string::npos)
      << data_error_of(forward);
  x.mutable_cpu_data()[3] = 0;
  EXPECT_NE(data_error_of(forward).find("index 5 at position 4"), std::string::npos)
      << data_error_of(forward);
  EXPECT_NE(data_error_of(forward).find("[0, 5)"), std::string::npos);
  x.mutable_cpu_data()[4] = 1.5f;
  EXPECT_NE(data_error_of(forward).find("index 1.5 at position 4"), std::string::npos)
      << data_error_of(forward);
  x.mutable_cpu_data()[4] = std::nanf("");
  EXPECT_THROW(forward(), DataError);
}

TEST(Embed, ConfigErrors) {
  Context ctx = Context::cpu(1);
  Tensor<float> x({3}), y;
  EXPECT_THROW(test::make_layer<float>(embed_text(0, 3, true), ctx, {&x}, {&y}), ConfigError);
  EXPECT_THROW(test::make_layer<float>(embed_text(2, 0, true), ctx, {&x}, {&y}), ConfigError);
  EXPECT_THROW(test::make_layer<float>("name: 'e' type: 'Embed'", ctx, {&x}, {&y}), ConfigError);
  EXPECT_THROW(test::make_layer<float>(embed_text(2, 3, true), ctx, {&x}, {&x}), ConfigError);
  auto layer = test::make_layer<float>(embed_text(2, 3, true), ctx, {&x}, {&y});
  EXPECT_FALSE(layer->allow_force_backward(0));
  x.set_data(1);
  layer->forward(ctx, {&x}, {&y});
  EXPECT_THROW(layer->backward(ctx, {&y}, {true}, {&x}), ConfigError);
}

template <class T>
void check_gpu_case(const std::vector<int64_t>& shape, int n, int k, bool bias) {
  SCOPED_TRACE(shape_string(shape) + " N=" + std::to_string(n) + " K=" + std::to_string(k) +
               (bias ? " bias" : ""));
  // Forward adds one weight to one bias; the weight and bias gradients sum dy in increasing
  // position order on both devices (one work item per column): bitwise.
  test::expect_gpu_matches_cpu<T>(
      embed_text(n, k, bias), {shape}, {.tol = 0, .propagate_down = {false}},
      [k](size_t, Tensor<T>& t, uint64_t seed) { fill_indices(t, k, seed); });
}

TEST(GpuEmbed, MatchesCpu) {
  CREMA_REQUIRE_GPU();
  // Few rows for many positions, so indices repeat and weight gradients accumulate.
  check_gpu_case<float>({2, 3}, 4, 5, true);
  check_gpu_case<float>({4, 7}, 37, 3, false);
  check_gpu_case<float>({3, 2, 5}, 300, 6, true);
  check_gpu_case<double>({4, 7}, 37, 3, true);
  check_gpu_case<double>({5}, 2, 9, false);
}

TEST(GpuEmbed, BadIndicesGiveTheCpuError) {
  CREMA_REQUIRE_GPU();
  Context cpu = Context::cpu(1);
  Context gpu = Context::gpu(0, 1);
  Tensor<float> xc({2, 3}), xg({2, 3}), yc, yg;
  fill_indices(xc, 5, 46);
  auto lc = test::make_layer<float>(embed_text(2, 5, true), cpu, {&xc}, {&yc});
  auto lg = test::make_layer<float>(embed_text(2, 5, true), gpu, {&xg}, {&yg});
  for (float bad : {5.0f, -1.0f, 2.5f, std::nanf("")}) {
    SCOPED_TRACE(bad);
    xc.mutable_cpu_data()[4] = bad;
    xg.copy_from(xc);
    // The GPU bottom's current copy is on the device, as in a --gpu net.
    xg.mutable_gpu_data(gpu);
    const std::string want = data_error_of([&] { lc->forward(cpu, {&xc}, {&yc}); });
    EXPECT_NE(want, "no DataError");
    EXPECT_EQ(data_error_of([&] { lg->forward(gpu, {&xg}, {&yg}); }), want);
  }
  xc.mutable_cpu_data()[4] = 1;
  xg.copy_from(xc);
  EXPECT_NO_THROW(lg->forward(gpu, {&xg}, {&yg}));
  EXPECT_THROW(lg->backward(gpu, {&yg}, {true}, {&xg}), ConfigError);
}

}  // namespace
}  // namespace crema
