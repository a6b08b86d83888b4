#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "tests/gpu_compare.h"
#include "tests/layer_checks.h"
#include "tests/reference/sigmoid_ref.h"
#include "tests/test_util.h"

namespace crema {
namespace {

constexpr const char* kText = "name: 'sig' type: 'Sigmoid'";

template <class T>
void check_forward_backward(std::vector<int64_t> shape, double range, double tol) {
  Context ctx = Context::cpu(1);
  Tensor<T> x(shape), y, dy(shape);
  test::fill_uniform(x, -range, range, 21);
  test::fill_uniform(dy, -1, 1, 22);
  auto layer = test::make_layer<T>(kText, ctx, {&x}, {&y});
  ASSERT_EQ(y.shape(), x.shape());
  layer->forward(ctx, {&x}, {&y});
  const auto want = ref::sigmoid_forward(x.cpu_data(), x.count());
  test::expect_near(y.cpu_data(), std::vector<T>(want.begin(), want.end()).data(), y.count(), tol,
                    "sigmoid y");
  std::copy(dy.cpu_data(), dy.cpu_data() + dy.count(), y.mutable_cpu_diff());
  x.set_diff(T(7));
  layer->backward(ctx, {&y}, {true}, {&x});
  const auto want_dx = ref::sigmoid_backward(x.cpu_data(), dy.cpu_data(), x.count());
  test::expect_near(x.cpu_diff(), std::vector<T>(want_dx.begin(), want_dx.end()).data(), x.count(),
                    tol, "sigmoid dx");
}

TEST(Sigmoid, ForwardBackwardMatchReference) {
  check_forward_backward<float>({2, 3, 4, 5}, 6.0, 1e-6);
  check_forward_backward<double>({2, 3, 4, 5}, 6.0, 1e-12);
  // Large |x| saturates without overflow.
  check_forward_backward<double>({7, 11}, 40.0, 1e-12);
  check_forward_backward<float>({5}, 0.0, 1e-7);
}

TEST(Sigmoid, GradientDouble) {
  Context ctx = Context::cpu(1);
  Tensor<double> x({2, 3, 2, 3}), y;
  test::fill_uniform(x, -3, 3, 4);
  auto layer = test::make_layer<double>(kText, ctx, {&x}, {&y});
  test::check_gradient<double>(*layer, ctx, {&x}, {&y});
}

TEST(Sigmoid, InPlaceEqualsOutOfPlace) {
  Context ctx = Context::cpu(1);
  Tensor<float> x({3, 4, 5}), y, z({3, 4, 5}), dy({3, 4, 5});
  test::fill_uniform(x, -4, 4, 5);
  test::fill_uniform(dy, -1, 1, 6);
  z.copy_from(x);
  auto out = test::make_layer<float>(kText, ctx, {&x}, {&y});
  auto in = test::make_layer<float>(kText, ctx, {&z}, {&z});
  out->forward(ctx, {&x}, {&y});
  in->forward(ctx, {&z}, {&z});
  std::copy(dy.cpu_data(), dy.cpu_data() + dy.count(), y.mutable_cpu_diff());
  std::copy(dy.cpu_data(), dy.cpu_data() + dy.count(), z.mutable_cpu_diff());
  out->backward(ctx, {&y}, {true}, {&x});
  in->backward(ctx, {&z}, {true}, {&z});
  EXPECT_EQ(0, std::memcmp(y.cpu_data(), z.cpu_data(), sizeof(float) * y.count()));
  EXPECT_EQ(0, std::memcmp(x.cpu_diff(), z.cpu_diff(), sizeof(float) * x.count()));
}

TEST(Sigmoid, ThreadCountDoesNotChangeResults) {
  Tensor<float> x({4, 8, 16, 16}), dy({4, 8, 16, 16});  // above parallel_for's serial cutoff
  test::fill_uniform(x, -5, 5, 9);
  test::fill_uniform(dy, -1, 1, 10);
  std::vector<std::vector<float>> ys, dxs;
  for (int threads : {1, 2}) {
    Context ctx = Context::cpu(threads);
    Tensor<float> y;
    auto layer = test::make_layer<float>(kText, ctx, {&x}, {&y});
    layer->forward(ctx, {&x}, {&y});
    std::copy(dy.cpu_data(), dy.cpu_data() + dy.count(), y.mutable_cpu_diff());
    layer->backward(ctx, {&y}, {true}, {&x});
    ys.emplace_back(y.cpu_data(), y.cpu_data() + y.count());
    dxs.emplace_back(x.cpu_diff(), x.cpu_diff() + x.count());
  }
  EXPECT_EQ(ys[0], ys[1]);
  EXPECT_EQ(dxs[0], dxs[1]);
}

TEST(Sigmoid, Errors) {
  Context ctx = Context::cpu(1);
  Tensor<float> x({2, 3}), y, z;
  EXPECT_THROW(test::make_layer<float>(kText, ctx, {&x, &z}, {&y}), ConfigError);
  EXPECT_THROW(test::make_layer<float>(kText, ctx, {&x}, {&y, &z}), ConfigError);
}

// The layer's GPU path against its CPU path, forward and backward, separate top and in-place;
// tolerance: cuDNN's activation against the CPU body, a few ulp apart (tests/gpu_compare.h).
TEST(GpuSigmoid, LayerMatchesCpu) {
  CREMA_REQUIRE_GPU();
  Tensor<float> x({2, 3, 8, 8});
  test::fill_uniform(x, -8, 8, 61);
  for (bool in_place : {false, true})
    test::expect_gpu_matches_cpu(kText, x, in_place, test::kGpuMathTol);
}

}  // namespace
}  // namespace crema
