#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "tests/gpu_compare.h"
#include "tests/layer_checks.h"
#include "tests/reference/eltwise_ref.h"
#include "tests/test_util.h"

namespace crema {
namespace {

struct Case {
  std::string param;  // eltwise_param body
  ref::EltOp op;
  std::vector<double> coeff;
};

std::string eltwise_text(const std::string& param) {
  return "name: 'elt' type: 'Eltwise' eltwise_param { " + param + " }";
}

template <class T>
std::vector<T> to(const std::vector<double>& v) {
  return std::vector<T>(v.begin(), v.end());
}

template <class T>
void check_case(const Case& c, int num_bottoms) {
  SCOPED_TRACE(c.param + " with " + std::to_string(num_bottoms) + " bottoms");
  Context ctx = Context::cpu(1);
  const std::vector<int64_t> shape{2, 3, 4, 5};
  std::vector<Tensor<T>> xs(num_bottoms);
  TensorVec<T> bottom;
  std::vector<const T*> ptrs;
  for (int b = 0; b < num_bottoms; ++b) {
    xs[b].reshape(shape);
    test::fill_uniform(xs[b], -2, 2, 40 + b);
    bottom.push_back(&xs[b]);
    ptrs.push_back(xs[b].cpu_data());
  }
  Tensor<T> y, dy(shape);
  test::fill_uniform(dy, -1, 1, 50);
  auto layer = test::make_layer<T>(eltwise_text(c.param), ctx, bottom, {&y});
  ASSERT_EQ(y.shape(), shape);
  layer->forward(ctx, bottom, {&y});
  const auto want = ref::eltwise_forward(ptrs, y.count(), c.op, c.coeff);
  test::expect_near(y.cpu_data(), to<T>(want).data(), y.count(), 1e-6, "eltwise y");
  std::copy(dy.cpu_data(), dy.cpu_data() + dy.count(), y.mutable_cpu_diff());
  for (auto* b : bottom) b->set_diff(T(7));
  layer->backward(ctx, {&y}, std::vector<bool>(num_bottoms, true), bottom);
  for (int b = 0; b < num_bottoms; ++b) {
    const auto want_dx = ref::eltwise_backward(ptrs, dy.cpu_data(), y.count(), c.op, c.coeff, b);
    test::expect_near(xs[b].cpu_diff(), to<T>(want_dx).data(), y.count(), 1e-5,
                      ("eltwise dx" + std::to_string(b)).c_str());
  }
}

TEST(Eltwise, ForwardBackwardMatchReference) {
  const std::vector<Case> cases = {
      {"operation: SUM", ref::EltOp::kSum, {}},
      {"operation: PROD", ref::EltOp::kProd, {}},
      {"operation: PROD stable_prod_grad: false", ref::EltOp::kProd, {}},
      {"operation: MAX", ref::EltOp::kMax, {}},
  };
  for (const auto& c : cases) {
    for (int nb : {2, 3}) {
      check_case<float>(c, nb);
      check_case<double>(c, nb);
    }
  }
  check_case<double>({"operation: SUM coeff: 1 coeff: -1", ref::EltOp::kSum, {1, -1}}, 2);
  check_case<float>({"coeff: 0.5 coeff: -2 coeff: 3", ref::EltOp::kSum, {0.5, -2, 3}}, 3);
}

TEST(Eltwise, GradientDouble) {
  const std::vector<std::string> params = {"operation: SUM coeff: 0.5 coeff: -1.5 coeff: 2",
                                           "operation: PROD",
                                           "operation: PROD stable_prod_grad: false"};
  for (const auto& param : params) {
    SCOPED_TRACE(param);
    Context ctx = Context::cpu(1);
    Tensor<double> a({2, 3, 4}), b({2, 3, 4}), c({2, 3, 4}), y;
    test::fill_away_from_zero(a, 0.2, 1.5, 1);
    test::fill_away_from_zero(b, 0.2, 1.5, 2);
    test::fill_away_from_zero(c, 0.2, 1.5, 3);
    auto layer = test::make_layer<double>(eltwise_text(param), ctx, {&a, &b, &c}, {&y});
    test::check_gradient<double>(*layer, ctx, {&a, &b, &c}, {&y});
  }
}

TEST(Eltwise, MaxGradientDoubleWithDistinctValues) {
  Context ctx = Context::cpu(1);
  const int n = 2 * 3 * 4;
  Tensor<double> a({2, 3, 4}), b({2, 3, 4}), c({2, 3, 4}), y;
  // Distinct values 0.05 apart: a step of 1e-4 never changes which bottom wins.
  std::vector<int> order(3 * n);
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), std::mt19937(17));
  Tensor<double>* xs[] = {&a, &b, &c};
  for (int k = 0; k < 3 * n; ++k) xs[k / n]->mutable_cpu_data()[k % n] = 0.05 * order[k] - 1.0;
  auto layer = test::make_layer<double>(eltwise_text("operation: MAX"), ctx, {&a, &b, &c}, {&y});
  test::check_gradient<double>(*layer, ctx, {&a, &b, &c}, {&y});
}

TEST(Eltwise, MaxTiesGoToFirstBottom) {
  Context ctx = Context::cpu(1);
  Tensor<float> a({10}), b({10}), c({10}), y;
  test::fill_uniform(a, -1, 1, 1);
  b.copy_from(a);
  c.copy_from(a);
  auto layer = test::make_layer<float>(eltwise_text("operation: MAX"), ctx, {&a, &b, &c}, {&y});
  layer->forward(ctx, {&a, &b, &c}, {&y});
  y.set_diff(1.0f);
  layer->backward(ctx, {&y}, {true, true, true}, {&a, &b, &c});
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(a.cpu_diff()[i], 1.0f);
    EXPECT_EQ(b.cpu_diff()[i], 0.0f);
    EXPECT_EQ(c.cpu_diff()[i], 0.0f);
  }
}

TEST(Eltwise, StableProdGradHandlesZeroInput) {
  Context ctx = Context::cpu(1);
  Tensor<double> a({3}), b({3}), y;
  for (int i = 0; i < 3; ++i) a.mutable_cpu_data()[i] = 0.0, b.mutable_cpu_data()[i] = i + 1.0;
  auto layer = test::make_layer<double>(eltwise_text("operation: PROD"), ctx, {&a, &b}, {&y});
  layer->forward(ctx, {&a, &b}, {&y});
  y.set_diff(2.0);
  layer->backward(ctx, {&y}, {true, true}, {&a, &b});
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(a.cpu_diff()[i], 2.0 * (i + 1));  // the product of the other input, not y / 0
    EXPECT_EQ(b.cpu_diff()[i], 0.0);
  }
}

TEST(Eltwise, PropagateDownFalseLeavesDiff) {
  Context ctx = Context::cpu(1);
  Tensor<double> a({4}), b({4}), y;
  test::fill_uniform(a, -1, 1, 1);
  test::fill_uniform(b, -1, 1, 2);
  auto layer = test::make_layer<double>(eltwise_text("operation: SUM"), ctx, {&a, &b}, {&y});
  layer->forward(ctx, {&a, &b}, {&y});
  y.set_diff(1.0);
  a.set_diff(7.0);
  b.set_diff(7.0);
  layer->backward(ctx, {&y}, {false, true}, {&a, &b});
  for (int i = 0; i < 4; ++i) EXPECT_EQ(a.cpu_diff()[i], 7.0);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(b.cpu_diff()[i], 1.0);
}

TEST(Eltwise, ThreadCountDoesNotChangeResults) {
  for (const char* param :
       {"operation: SUM coeff: 1 coeff: 2 coeff: 3", "operation: PROD", "operation: MAX"}) {
    SCOPED_TRACE(param);
    std::vector<int64_t> shape{4, 8, 16, 16};  // above parallel_for's serial cutoff
    Tensor<float> a(shape), b(shape), c(shape), dy(shape);
    test::fill_uniform(a, -1, 1, 1);
    test::fill_uniform(b, -1, 1, 2);
    test::fill_uniform(c, -1, 1, 3);
    test::fill_uniform(dy, -1, 1, 4);
    std::vector<std::vector<float>> outs;
    for (int threads : {1, 2}) {
      Context ctx = Context::cpu(threads);
      Tensor<float> y;
      auto layer = test::make_layer<float>(eltwise_text(param), ctx, {&a, &b, &c}, {&y});
      layer->forward(ctx, {&a, &b, &c}, {&y});
      std::copy(dy.cpu_data(), dy.cpu_data() + dy.count(), y.mutable_cpu_diff());
      layer->backward(ctx, {&y}, {true, true, true}, {&a, &b, &c});
      std::vector<float> all(y.cpu_data(), y.cpu_data() + y.count());
      for (auto* t : {&a, &b, &c}) all.insert(all.end(), t->cpu_diff(), t->cpu_diff() + t->count());
      outs.push_back(std::move(all));
    }
    EXPECT_EQ(outs[0], outs[1]);
  }
}

TEST(Eltwise, Errors) {
  Context ctx = Context::cpu(1);
  Tensor<float> a({2, 3}), b({2, 3}), c({3, 2}), y;
  // One bottom.
  EXPECT_THROW(test::make_layer<float>(eltwise_text("operation: SUM"), ctx, {&a}, {&y}),
               ConfigError);
  // Coefficient count, coefficients outside SUM.
  EXPECT_THROW(test::make_layer<float>(eltwise_text("coeff: 1"), ctx, {&a, &b}, {&y}), ConfigError);
  EXPECT_THROW(test::make_layer<float>(eltwise_text("operation: MAX coeff: 1 coeff: 2"), ctx,
                                       {&a, &b}, {&y}),
               ConfigError);
  // In-place.
  EXPECT_THROW(test::make_layer<float>(eltwise_text("operation: SUM"), ctx, {&a, &b}, {&b}),
               ConfigError);
  // Shape mismatch names the bottom and both shapes.
  try {
    test::make_layer<float>(eltwise_text("operation: PROD"), ctx, {&a, &b, &c}, {&y});
    ADD_FAILURE() << "expected ShapeError";
  } catch (const ShapeError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("bottom 2"), std::string::npos) << msg;
    EXPECT_NE(msg.find("3x2"), std::string::npos) << msg;
    EXPECT_NE(msg.find("2x3"), std::string::npos) << msg;
  }
}

// The layer's GPU path against its CPU path for each operation on 3 bottoms, forward and every
// bottom's gradient: bitwise for PROD and MAX (products, quotients, comparisons); SUM within a
// tolerance, since the device fuses coeff * x + sum (tests/gpu_compare.h).
TEST(GpuEltwise, LayerMatchesCpu) {
  CREMA_REQUIRE_GPU();
  std::vector<Tensor<float>> xs(3);
  for (int b = 0; b < 3; ++b) {
    xs[b].reshape({2, 3, 4, 5});
    test::fill_uniform(xs[b], -2, 2, 61 + b);
  }
  const std::vector<const Tensor<float>*> inputs{&xs[0], &xs[1], &xs[2]};
  const std::vector<std::pair<std::string, double>> cases = {
      {"operation: PROD", 0},
      {"operation: PROD stable_prod_grad: false", 0},
      {"operation: MAX", 0},
      {"operation: SUM", test::kGpuMathTol},
      {"operation: SUM coeff: 0.5 coeff: -1.5 coeff: 2", test::kGpuMathTol},
  };
  for (const auto& [param, tol] : cases) {
    SCOPED_TRACE(param);
    test::expect_gpu_matches_cpu_multi(eltwise_text(param), inputs, {true, true, true}, tol);
  }
  // A bottom without propagate_down keeps its diff (the sentinel) on the device too.
  test::expect_gpu_matches_cpu_multi(eltwise_text("operation: MAX"), inputs, {true, false, true},
                                     0);
}

}  // namespace
}  // namespace crema
