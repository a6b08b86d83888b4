#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "tests/gpu_compare.h"
#include "tests/reference/euclidean_loss_ref.h"
#include "tests/test_util.h"

namespace crema {
namespace {

using test::make_layer;

constexpr const char* kText = "name: 'loss' type: 'EuclideanLoss'";

template <class T>
std::vector<double> to_vec(const Tensor<T>& t) {
  return std::vector<double>(t.cpu_data(), t.cpu_data() + t.count());
}

template <class T>
void check_against_reference(const std::vector<int64_t>& shape_a,
                             const std::vector<int64_t>& shape_b, double tol) {
  SCOPED_TRACE(shape_string(shape_a) + " vs " + shape_string(shape_b));
  Context ctx = Context::cpu(1);
  Tensor<T> a(shape_a), b(shape_b), loss;
  test::fill_uniform(a, -2, 2, 1);
  test::fill_uniform(b, -2, 2, 2);
  TensorVec<T> bottom{&a, &b}, top{&loss};
  auto layer = make_layer<T>(kText, ctx, bottom, top);
  const T returned = layer->forward(ctx, bottom, top);
  ASSERT_EQ(loss.num_axes(), 0);
  const auto want = ref::euclidean_loss(to_vec(a), to_vec(b), shape_a[0]);
  EXPECT_NEAR(loss.cpu_data()[0], want.loss, tol * std::max(1.0, want.loss));
  EXPECT_EQ(returned, loss.cpu_data()[0]);
  a.set_diff(T(7)), b.set_diff(T(7));
  layer->backward(ctx, top, {true, true}, bottom);
  const std::vector<T> ga(want.grad_a.begin(), want.grad_a.end());
  const std::vector<T> gb(want.grad_b.begin(), want.grad_b.end());
  test::expect_near(a.cpu_diff(), ga.data(), a.count(), tol, "bottom 0 diff");
  test::expect_near(b.cpu_diff(), gb.data(), b.count(), tol, "bottom 1 diff");
}

TEST(EuclideanLoss, ForwardBackwardMatchReference) {
  check_against_reference<double>({4, 3}, {4, 3}, 1e-12);
  check_against_reference<double>({2, 3, 4, 5}, {2, 3, 4, 5}, 1e-12);
  check_against_reference<double>({2, 12}, {2, 3, 4}, 1e-12);  // same N and count, other shape
  check_against_reference<double>({7}, {7}, 1e-12);
  check_against_reference<float>({2, 3, 4, 5}, {2, 3, 4, 5}, 1e-5);
  check_against_reference<float>({3, 20000}, {3, 20000}, 1e-5);  // several forward blocks
}

TEST(EuclideanLoss, HandComputed) {
  Context ctx = Context::cpu(1);
  Tensor<double> a({2, 2}), b({2, 2}), loss;
  const double av[] = {1, 2, 3, 4}, bv[] = {0, 2, 5, 1};
  std::copy(av, av + 4, a.mutable_cpu_data());
  std::copy(bv, bv + 4, b.mutable_cpu_data());
  TensorVec<double> bottom{&a, &b}, top{&loss};
  auto layer = make_layer<double>(kText, ctx, bottom, top);
  layer->forward(ctx, bottom, top);
  EXPECT_DOUBLE_EQ(loss.cpu_data()[0], (1.0 + 0 + 4 + 9) / 4);  // sum d^2 / (2 * N), N = 2
}

TEST(EuclideanLoss, LossWeightScalesLossAndGradient) {
  Context ctx = Context::cpu(1);
  Tensor<double> a({3, 4}), b({3, 4}), loss;
  test::fill_uniform(a, -1, 1, 3);
  test::fill_uniform(b, -1, 1, 4);
  TensorVec<double> bottom{&a, &b}, top{&loss};
  auto plain = make_layer<double>(kText, ctx, bottom, top);
  const double l1 = plain->forward(ctx, bottom, top);
  plain->backward(ctx, top, {true, true}, bottom);
  const std::vector<double> ga(a.cpu_diff(), a.cpu_diff() + a.count());
  const std::vector<double> gb(b.cpu_diff(), b.cpu_diff() + b.count());
  auto weighted = make_layer<double>(std::string(kText) + " loss_weight: 2", ctx, bottom, top);
  EXPECT_DOUBLE_EQ(weighted->forward(ctx, bottom, top), 2 * l1);
  EXPECT_DOUBLE_EQ(loss.cpu_data()[0], l1);
  weighted->backward(ctx, top, {true, true}, bottom);
  for (int64_t i = 0; i < a.count(); ++i) {
    EXPECT_DOUBLE_EQ(a.cpu_diff()[i], 2 * ga[i]);
    EXPECT_DOUBLE_EQ(b.cpu_diff()[i], 2 * gb[i]);
    EXPECT_DOUBLE_EQ(gb[i], -ga[i]);
  }
  // Only the requested bottom is written.
  b.set_diff(7);
  weighted->backward(ctx, top, {true, false}, bottom);
  EXPECT_EQ(b.cpu_diff()[0], 7.0);
}

TEST(EuclideanLoss, GradientCheckDouble) {
  Context ctx = Context::cpu(1);
  Tensor<double> a({2, 3, 2}), b({2, 3, 2}), loss;
  test::fill_uniform(a, -2, 2, 5);
  test::fill_uniform(b, -2, 2, 6);
  TensorVec<double> bottom{&a, &b}, top{&loss};
  auto layer = make_layer<double>(std::string(kText) + " loss_weight: 0.5", ctx, bottom, top);
  test::check_gradient(*layer, ctx, bottom, top);
}

TEST(EuclideanLoss, ThreadsBitwiseIdentical) {
  // 8 * 16384 elements: 8 forward blocks, and enough elements for the backward's threads.
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

TEST(EuclideanLoss, ShapeErrors) {
  Context ctx = Context::cpu(1);
  Tensor<float> a({2, 3}), loss;
  TensorVec<float> top{&loss};
  for (const std::vector<int64_t>& other :
       {std::vector<int64_t>{2, 4}, std::vector<int64_t>{3, 2}, std::vector<int64_t>{6}}) {
    Tensor<float> b(other);
    TensorVec<float> bottom{&a, &b};
    EXPECT_THROW(make_layer<float>(kText, ctx, bottom, top), ShapeError) << shape_string(other);
  }
  Tensor<float> b({2, 3});
  TensorVec<float> one{&a};
  EXPECT_THROW(make_layer<float>(kText, ctx, one, top), ConfigError);
  TensorVec<float> bottom{&a, &b};
  auto layer = make_layer<float>(kText, ctx, bottom, top);
  b.reshape({2, 4});
  EXPECT_THROW(layer->forward(ctx, bottom, top), ShapeError);
}

TEST(GpuEuclideanLoss, MatchesCpu) {
  CREMA_REQUIRE_GPU();
  // Bitwise in float: a - b and alpha * diff round once, the square of a float is exact in
  // double (so a fused multiply-add rounds as the host's multiply then add), and the block
  // partials are added on the host in the same order.
  const std::vector<std::vector<std::vector<int64_t>>> cases = {
      {{4, 3}, {4, 3}}, {{2, 12}, {2, 3, 4}}, {{3, 20000}, {3, 20000}}};
  for (const auto& shapes : cases)
    test::expect_gpu_matches_cpu<float>(kText, shapes,
                                        {.tol = 0, .num_tops = 1, .lo = -2, .hi = 2});
  for (const std::vector<bool>& down : {std::vector<bool>{true, false}, {false, true}})
    test::expect_gpu_matches_cpu<float>(std::string(kText) + " loss_weight: 0.5", {{3, 5}, {3, 5}},
                                        {.tol = 0, .num_tops = 1, .propagate_down = down});
  // In double nvcc's fused multiply-add of the squares rounds once where the host rounds twice.
  test::expect_gpu_matches_cpu<double>(kText, {{3, 20000}, {3, 20000}},
                                       {.tol = 1e-12, .num_tops = 1});
}

}  // namespace
}  // namespace crema
