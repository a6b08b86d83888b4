#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "tests/gpu_compare.h"
#include "tests/reference/l1_loss_ref.h"
#include "tests/test_util.h"

namespace crema {
namespace {

using test::make_layer;

constexpr const char* kText = "name: 'loss' type: 'L1Loss'";

template <class T>
std::vector<double> to_vec(const Tensor<T>& t, bool diff = false) {
  const T* p = diff ? t.cpu_diff() : t.cpu_data();
  return std::vector<double>(p, p + t.count());
}

/// b random, a = b + d with |d| >= 0.1: away from the kink at a == b.
template <class T>
void fill_pair(Tensor<T>& a, Tensor<T>& b, uint64_t seed) {
  test::fill_uniform(b, -2, 2, seed);
  Tensor<T> d(a.shape());
  test::fill_away_from_zero(d, 0.1, 1.5, seed + 1);
  for (int64_t i = 0; i < a.count(); ++i)
    a.mutable_cpu_data()[i] = b.cpu_data()[i] + d.cpu_data()[i];
}

template <class T>
void check_against_reference(const std::vector<int64_t>& shape_a,
                             const std::vector<int64_t>& shape_b, double tol) {
  SCOPED_TRACE(shape_string(shape_a) + " vs " + shape_string(shape_b));
  Context ctx = Context::cpu(1);
  Tensor<T> a(shape_a), b(shape_b), loss;
  fill_pair(a, b, 1);
  TensorVec<T> bottom{&a, &b}, top{&loss};
  auto layer = make_layer<T>(kText, ctx, bottom, top);
  const T returned = layer->forward(ctx, bottom, top);
  ASSERT_EQ(loss.num_axes(), 0);
  const auto want = ref::l1_loss(to_vec(a), to_vec(b), shape_a[0]);
  EXPECT_NEAR(loss.cpu_data()[0], want.loss, tol * std::max(1.0, want.loss));
  EXPECT_EQ(returned, loss.cpu_data()[0]);
  a.set_diff(T(7)), b.set_diff(T(7));
  layer->backward(ctx, top, {true, true}, bottom);
  const std::vector<T> ga(want.grad_a.begin(), want.grad_a.end());
  const std::vector<T> gb(want.grad_b.begin(), want.grad_b.end());
  test::expect_near(a.cpu_diff(), ga.data(), a.count(), tol, "bottom 0 diff");
  test::expect_near(b.cpu_diff(), gb.data(), b.count(), tol, "bottom 1 diff");
}

TEST(L1Loss, ForwardBackwardMatchReference) {
  check_against_reference<double>({4, 3}, {4, 3}, 1e-12);
  check_against_reference<double>({2, 3, 4, 5}, {2, 3, 4, 5}, 1e-12);
  check_against_reference<double>({2, 12}, {2, 3, 4}, 1e-12);
  check_against_reference<float>({7}, {7}, 1e-5);
  check_against_reference<float>({3, 20000}, {3, 20000}, 1e-5);  // several forward blocks
}

TEST(L1Loss, SubgradientIsZeroWhereEqual) {
  Context ctx = Context::cpu(1);
  Tensor<double> a({2, 2}), b({2, 2}), loss;
  const double av[] = {1, 2, 3, 4}, bv[] = {0, 2, 5, 4};
  std::copy(av, av + 4, a.mutable_cpu_data());
  std::copy(bv, bv + 4, b.mutable_cpu_data());
  TensorVec<double> bottom{&a, &b}, top{&loss};
  auto layer = make_layer<double>(kText, ctx, bottom, top);
  layer->forward(ctx, bottom, top);
  EXPECT_DOUBLE_EQ(loss.cpu_data()[0], (1.0 + 0 + 2 + 0) / 2);
  layer->backward(ctx, top, {true, true}, bottom);
  const double want[] = {0.5, 0, -0.5, 0};
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(a.cpu_diff()[i], want[i]) << i;
    EXPECT_EQ(b.cpu_diff()[i], -want[i]) << i;
  }
}

TEST(L1Loss, LossWeightScalesLossAndGradient) {
  Context ctx = Context::cpu(1);
  Tensor<double> a({3, 4}), b({3, 4}), loss;
  fill_pair(a, b, 3);
  TensorVec<double> bottom{&a, &b}, top{&loss};
  auto plain = make_layer<double>(kText, ctx, bottom, top);
  const double l1 = plain->forward(ctx, bottom, top);
  plain->backward(ctx, top, {true, true}, bottom);
  const auto ga = to_vec(a, true), gb = to_vec(b, true);
  auto weighted = make_layer<double>(std::string(kText) + " loss_weight: 2", ctx, bottom, top);
  EXPECT_DOUBLE_EQ(weighted->forward(ctx, bottom, top), 2 * l1);
  EXPECT_DOUBLE_EQ(loss.cpu_data()[0], l1);
  weighted->backward(ctx, top, {true, true}, bottom);
  for (int64_t i = 0; i < a.count(); ++i) {
    EXPECT_DOUBLE_EQ(a.cpu_diff()[i], 2 * ga[i]);
    EXPECT_DOUBLE_EQ(b.cpu_diff()[i], 2 * gb[i]);
  }
  b.set_diff(7);
  weighted->backward(ctx, top, {true, false}, bottom);
  EXPECT_EQ(b.cpu_diff()[0], 7.0);
}

TEST(L1Loss, GradientCheckDouble) {
  Context ctx = Context::cpu(1);
  Tensor<double> a({2, 3, 2}), b({2, 3, 2}), loss;
  fill_pair(a, b, 5);
  TensorVec<double> bottom{&a, &b}, top{&loss};
  auto layer = make_layer<double>(std::string(kText) + " loss_weight: 0.5", ctx, bottom, top);
  test::check_gradient(*layer, ctx, bottom, top);
}

TEST(L1Loss, ThreadsBitwiseIdentical) {
  std::vector<std::vector<float>> out;
  for (int threads : {1, 2}) {
    Context ctx = Context::cpu(threads);
    Tensor<float> a({8, 16384}), b({8, 16384}), loss;
    test::fill_uniform(a, -3, 3, 7);
    test::fill_uniform(b, -3, 3, 8);
    TensorVec<float> bottom{&a, &b}, top{&loss};
    auto layer = make_layer<float>(kText, ctx, bottom, top);
    layer->forward(ctx, bottom, top);
    layer->backward(ctx, top, {true, true}, bottom);
    std::vector<float> v(loss.cpu_data(), loss.cpu_data() + 1);
    v.insert(v.end(), a.cpu_diff(), a.cpu_diff() + a.count());
    v.insert(v.end(), b.cpu_diff(), b.cpu_diff() + b.count());
    out.push_back(std::move(v));
  }
  EXPECT_TRUE(out[0] == out[1]);
}

TEST(L1Loss, ShapeErrors) {
  Context ctx = Context::cpu(1);
  Tensor<float> a({2, 3}), loss;
  TensorVec<float> top{&loss};
  for (const std::vector<int64_t>& other :
       {std::vector<int64_t>{2, 4}, std::vector<int64_t>{3, 2}, std::vector<int64_t>{6}}) {
    Tensor<float> b(other);
    EXPECT_THROW(make_layer<float>(kText, ctx, {&a, &b}, top), ShapeError) << shape_string(other);
  }
  try {
    Tensor<float> b({3, 2});
    make_layer<float>(kText, ctx, {&a, &b}, top);
    ADD_FAILURE() << "expected ShapeError";
  } catch (const ShapeError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("3x2 (6)"), std::string::npos) << msg;
    EXPECT_NE(msg.find("2x3 (6)"), std::string::npos) << msg;
  }
  EXPECT_THROW(make_layer<float>(kText, ctx, {&a}, top), ConfigError);
}

// Bitwise: |a - b| is summed in double in the same order on both devices (no products to
// fuse), the block partials are added on the host, and alpha * sign(a - b) rounds once.
TEST(GpuL1Loss, MatchesCpu) {
  CREMA_REQUIRE_GPU();
  const std::vector<std::vector<std::vector<int64_t>>> cases = {
      {{4, 3}, {4, 3}}, {{2, 12}, {2, 3, 4}}, {{3, 20000}, {3, 20000}}};
  for (const auto& shapes : cases) {
    test::expect_gpu_matches_cpu<float>(kText, shapes,
                                        {.tol = 0, .num_tops = 1, .lo = -2, .hi = 2});
    test::expect_gpu_matches_cpu<double>(kText, shapes, {.tol = 0, .num_tops = 1});
  }
  // Values on a coarse grid, so a == b (the zero subgradient) happens often.
  const test::BottomFill<float> grid = [](size_t, Tensor<float>& t, uint64_t seed) {
    test::fill_uniform(t, -2, 2, seed);
    for (int64_t i = 0; i < t.count(); ++i) t.mutable_cpu_data()[i] = std::round(t.cpu_data()[i]);
  };
  for (const std::vector<bool>& down : {std::vector<bool>{true, false}, {false, true}})
    test::expect_gpu_matches_cpu<float>(std::string(kText) + " loss_weight: 0.5", {{6, 5}, {6, 5}},
                                        {.tol = 0, .num_tops = 1, .propagate_down = down}, grid);
}

}  // namespace
}  // namespace crema
