#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "tests/gpu_compare.h"
#include "tests/reference/smooth_l1_loss_ref.h"
#include "tests/test_util.h"

namespace crema {
namespace {

using test::make_layer;

std::string loss_text(double sigma, const std::string& extra = "") {
  return "name: 'loss' type: 'SmoothL1Loss' smooth_l1_loss_param { sigma: " +
         std::to_string(sigma) + " } " + extra;
}

template <class T>
std::vector<double> to_vec(const Tensor<T>& t, bool diff = false) {
  const T* p = diff ? t.cpu_diff() : t.cpu_data();
  return std::vector<double>(p, p + t.count());
}

/// Random b, weights in [0.5, 1.5] (when given), and a = b + d / w_in with |d| kept at least
/// 0.2 / sigma^2 away from the switch point |d| = 1 / sigma^2, on both of its sides.
template <class T>
void fill_inputs(Tensor<T>& a, Tensor<T>& b, Tensor<T>* w_in, Tensor<T>* w_out, double sigma,
                 uint64_t seed) {
  std::mt19937_64 gen(seed);
  const double thr = 1 / (sigma * sigma);
  std::uniform_real_distribution<double> inside(0, 0.8 * thr), outside(1.2 * thr, 3 * thr),
      u(-1, 1), w(0.5, 1.5);
  std::bernoulli_distribution coin(0.5);
  for (int64_t i = 0; i < a.count(); ++i) {
    const double m = coin(gen) ? inside(gen) : outside(gen);
    const double d = coin(gen) ? m : -m;
    const double wi = w_in ? w(gen) : 1.0;
    if (w_in) w_in->mutable_cpu_data()[i] = static_cast<T>(wi);
    if (w_out) w_out->mutable_cpu_data()[i] = static_cast<T>(w(gen));
    const double bv = u(gen);
    b.mutable_cpu_data()[i] = static_cast<T>(bv);
    a.mutable_cpu_data()[i] = static_cast<T>(bv + d / wi);
  }
}

template <class T>
void check_against_reference(const std::vector<int64_t>& shape, double sigma, bool weights,
                             double tol) {
  SCOPED_TRACE(shape_string(shape) + " sigma " + std::to_string(sigma) +
               (weights ? " weighted" : ""));
  Context ctx = Context::cpu(1);
  Tensor<T> a(shape), b(shape), wi(shape), wo(shape), loss;
  fill_inputs(a, b, weights ? &wi : nullptr, weights ? &wo : nullptr, sigma, 1);
  TensorVec<T> bottom{&a, &b}, top{&loss};
  if (weights) bottom.push_back(&wi), bottom.push_back(&wo);
  auto layer = make_layer<T>(loss_text(sigma), ctx, bottom, top);
  const T returned = layer->forward(ctx, bottom, top);
  ASSERT_EQ(loss.num_axes(), 0);
  const auto want =
      ref::smooth_l1_loss(to_vec(a), to_vec(b), weights ? to_vec(wi) : std::vector<double>{},
                          weights ? to_vec(wo) : std::vector<double>{}, sigma, shape[0]);
  EXPECT_NEAR(loss.cpu_data()[0], want.loss, tol * std::max(1.0, want.loss));
  EXPECT_EQ(returned, loss.cpu_data()[0]);
  a.set_diff(T(7));
  b.set_diff(T(7));
  std::vector<bool> down(bottom.size(), false);
  down[0] = down[1] = true;
  layer->backward(ctx, top, down, bottom);
  const std::vector<T> ga(want.grad_a.begin(), want.grad_a.end());
  const std::vector<T> gb(want.grad_b.begin(), want.grad_b.end());
  test::expect_near(a.cpu_diff(), ga.data(), a.count(), tol, "a diff");
  test::expect_near(b.cpu_diff(), gb.data(), b.count(), tol, "b diff");
}

TEST(SmoothL1Loss, ForwardBackwardMatchReference) {
  for (bool weights : {false, true}) {
    for (double sigma : {1.0, 3.0, 0.5}) {
      check_against_reference<double>({4, 3}, sigma, weights, 1e-12);
      check_against_reference<double>({2, 8, 1, 1}, sigma, weights, 1e-12);
      check_against_reference<float>({3, 5, 2}, sigma, weights, 1e-5);
    }
  }
}

TEST(SmoothL1Loss, HandComputed) {
  Context ctx = Context::cpu(1);
  Tensor<double> a({2, 1}), b({2, 1}), loss;
  a.mutable_cpu_data()[0] = 0.5, a.mutable_cpu_data()[1] = -3;
  b.set_data(0);
  TensorVec<double> bottom{&a, &b}, top{&loss};
  auto layer = make_layer<double>("name: 'l' type: 'SmoothL1Loss'", ctx, bottom, top);
  layer->forward(ctx, bottom, top);
  EXPECT_DOUBLE_EQ(loss.cpu_data()[0], (0.5 * 0.25 + (3 - 0.5)) / 2);  // sigma defaults to 1
}

TEST(SmoothL1Loss, LossWeightScalesLossAndGradient) {
  Context ctx = Context::cpu(1);
  Tensor<double> a({3, 4}), b({3, 4}), wi({3, 4}), wo({3, 4}), loss;
  fill_inputs(a, b, &wi, &wo, 2.0, 3);
  TensorVec<double> bottom{&a, &b, &wi, &wo}, top{&loss};
  const std::vector<bool> down{true, true, false, false};
  auto plain = make_layer<double>(loss_text(2), ctx, bottom, top);
  const double l1 = plain->forward(ctx, bottom, top);
  plain->backward(ctx, top, down, bottom);
  const auto ga = to_vec(a, true), gb = to_vec(b, true);
  auto weighted = make_layer<double>(loss_text(2, "loss_weight: 2"), ctx, bottom, top);
  EXPECT_DOUBLE_EQ(weighted->forward(ctx, bottom, top), 2 * l1);
  EXPECT_DOUBLE_EQ(loss.cpu_data()[0], l1);
  weighted->backward(ctx, top, down, bottom);
  for (int64_t i = 0; i < a.count(); ++i) {
    EXPECT_DOUBLE_EQ(a.cpu_diff()[i], 2 * ga[i]);
    EXPECT_DOUBLE_EQ(b.cpu_diff()[i], 2 * gb[i]);
  }
}

TEST(SmoothL1Loss, GradientCheckDouble) {
  for (bool weights : {false, true}) {
    for (double sigma : {1.0, 3.0}) {
      SCOPED_TRACE(std::to_string(sigma) + (weights ? " weighted" : ""));
      Context ctx = Context::cpu(1);
      Tensor<double> a({3, 4}), b({3, 4}), wi({3, 4}), wo({3, 4}), loss;
      fill_inputs(a, b, weights ? &wi : nullptr, weights ? &wo : nullptr, sigma, 5);
      TensorVec<double> bottom{&a, &b}, top{&loss};
      if (weights) bottom.push_back(&wi), bottom.push_back(&wo);
      auto layer = make_layer<double>(loss_text(sigma, "loss_weight: 0.6"), ctx, bottom, top);
      test::GradCheck opt;
      opt.bottoms = {0, 1};
      opt.step = 1e-5;  // well inside the 0.2 / sigma^2 gap to the switch point
      test::check_gradient(*layer, ctx, bottom, top, opt);
    }
  }
}

TEST(SmoothL1Loss, ThreadsBitwiseIdentical) {
  std::vector<std::vector<float>> out;
  for (int threads : {1, 2}) {
    Context ctx = Context::cpu(threads);
    Tensor<float> a({4, 16384}), b({4, 16384}), wi({4, 16384}), wo({4, 16384}), loss;
    fill_inputs(a, b, &wi, &wo, 1.0, 7);
    TensorVec<float> bottom{&a, &b, &wi, &wo}, top{&loss};
    auto layer = make_layer<float>(loss_text(1), ctx, bottom, top);
    layer->forward(ctx, bottom, top);
    layer->backward(ctx, top, {true, true, false, false}, bottom);
    std::vector<float> v(loss.cpu_data(), loss.cpu_data() + 1);
    v.insert(v.end(), a.cpu_diff(), a.cpu_diff() + a.count());
    v.insert(v.end(), b.cpu_diff(), b.cpu_diff() + b.count());
    out.push_back(std::move(v));
  }
  EXPECT_TRUE(out[0] == out[1]);
}

TEST(SmoothL1Loss, Errors) {
  Context ctx = Context::cpu(1);
  Tensor<float> a({2, 3}), b({2, 3}), w({2, 3}), bad({3, 2}), loss;
  TensorVec<float> top{&loss};
  EXPECT_THROW(make_layer<float>(loss_text(1), ctx, {&a, &b, &w}, top), ConfigError);
  EXPECT_THROW(make_layer<float>(loss_text(1), ctx, {&a}, top), ConfigError);
  EXPECT_THROW(make_layer<float>(loss_text(1), ctx, {&a, &b, &w, &w, &w}, top), ConfigError);
  EXPECT_THROW(make_layer<float>(loss_text(0), ctx, {&a, &b}, top), ConfigError);
  EXPECT_THROW(make_layer<float>(loss_text(-1), ctx, {&a, &b}, top), ConfigError);
  EXPECT_THROW(make_layer<float>(loss_text(1), ctx, {&a, &bad}, top), ShapeError);
  EXPECT_THROW(make_layer<float>(loss_text(1), ctx, {&a, &b, &bad, &w}, top), ShapeError);
  try {
    make_layer<float>(loss_text(1), ctx, {&a, &b, &w, &bad}, top);
    ADD_FAILURE() << "expected ShapeError";
  } catch (const ShapeError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("bottom 3"), std::string::npos) << msg;
    EXPECT_NE(msg.find("3x2 (6)"), std::string::npos) << msg;
    EXPECT_NE(msg.find("2x3 (6)"), std::string::npos) << msg;
  }
  TensorVec<float> bottom{&a, &b, &w, &w};
  auto layer = make_layer<float>(loss_text(1), ctx, bottom, top);
  EXPECT_TRUE(layer->allow_force_backward(1));
  EXPECT_FALSE(layer->allow_force_backward(2));
  EXPECT_FALSE(layer->allow_force_backward(3));
  layer->forward(ctx, bottom, top);
  EXPECT_THROW(layer->backward(ctx, top, {true, true, true, false}, bottom), ConfigError);
  EXPECT_THROW(layer->backward(ctx, top, {true, true, false, true}, bottom), ConfigError);
}

// Bottom b of fill_inputs (a, b and, with `weights`, w_in and w_out; all of one shape): the GPU
// check fills its bottoms one at a time, so each call draws all of them from the same seed.
template <class T>
test::BottomFill<T> inputs_fill(double sigma, bool weights) {
  return [=](size_t b, Tensor<T>& t, uint64_t seed) {
    Tensor<T> x0(t.shape()), x1(t.shape()), wi(t.shape()), wo(t.shape());
    fill_inputs(x0, x1, weights ? &wi : nullptr, weights ? &wo : nullptr, sigma, seed - b);
    const Tensor<T>* all[] = {&x0, &x1, &wi, &wo};
    std::copy(all[b]->cpu_data(), all[b]->cpu_data() + t.count(), t.mutable_cpu_data());
  };
}

// The forward sums w_out * f(d) in double, which nvcc may fuse into multiply-adds.
TEST(GpuSmoothL1Loss, MatchesCpu) {
  CREMA_REQUIRE_GPU();
  for (bool weights : {false, true}) {
    for (double sigma : {1.0, 3.0}) {
      SCOPED_TRACE(std::to_string(sigma) + (weights ? " weighted" : ""));
      const std::vector<int64_t> shape{3, 5, 2};
      std::vector<std::vector<int64_t>> shapes(weights ? 4 : 2, shape);
      std::vector<bool> down(shapes.size(), false);
      down[0] = down[1] = true;
      test::expect_gpu_matches_cpu<float>(
          loss_text(sigma), shapes,
          {.tol = test::kGpuMathTol, .num_tops = 1, .propagate_down = down},
          inputs_fill<float>(sigma, weights));
    }
  }
  // Several forward blocks, and one feature bottom at a time.
  for (const std::vector<bool>& down :
       {std::vector<bool>{true, false, false, false}, {false, true, false, false}})
    test::expect_gpu_matches_cpu<float>(
        loss_text(1, "loss_weight: 0.5"), std::vector<std::vector<int64_t>>(4, {2, 20000}),
        {.tol = test::kGpuMathTol, .num_tops = 1, .propagate_down = down},
        inputs_fill<float>(1, true));
}

}  // namespace
}  // namespace crema
