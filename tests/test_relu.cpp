#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "cuda_kernels/relu.h"
#include "tests/cuda_test_util.h"
#include "tests/gpu_compare.h"
#include "tests/reference/relu_ref.h"
#include "tests/test_util.h"

namespace crema {
namespace {

std::string relu_text(double slope) {
  return "name: 'relu' type: 'ReLU' relu_param { negative_slope: " + std::to_string(slope) + " }";
}

template <class T>
void check_forward_backward(double slope) {
  Context ctx = Context::cpu(1);
  Tensor<T> x({2, 3, 4, 5}), y;
  test::fill_away_from_zero(x, 0.01, 2.0, 11);
  auto layer = test::make_layer<T>(relu_text(slope), ctx, {&x}, {&y});
  ASSERT_EQ(y.shape(), x.shape());
  layer->forward(ctx, {&x}, {&y});
  const auto want = ref::relu_forward(x.cpu_data(), x.count(), static_cast<T>(slope));
  test::expect_near(y.cpu_data(), std::vector<T>(want.begin(), want.end()).data(), y.count(), 1e-6,
                    "relu y");
  test::fill_uniform(y, -1, 1, 12);
  std::copy(y.cpu_data(), y.cpu_data() + y.count(), y.mutable_cpu_diff());
  x.set_diff(T(7));
  layer->backward(ctx, {&y}, {true}, {&x});
  const auto want_dx =
      ref::relu_backward(x.cpu_data(), y.cpu_diff(), x.count(), static_cast<T>(slope));
  test::expect_near(x.cpu_diff(), std::vector<T>(want_dx.begin(), want_dx.end()).data(), x.count(),
                    1e-6, "relu dx");
}

TEST(ReLU, ForwardBackwardMatchReference) {
  for (double slope : {0.0, 0.1, 0.5, -0.3}) {
    SCOPED_TRACE(slope);
    check_forward_backward<float>(slope);
    check_forward_backward<double>(slope);
  }
}

TEST(ReLU, GradientDouble) {
  for (double slope : {0.0, 0.2}) {
    SCOPED_TRACE(slope);
    Context ctx = Context::cpu(1);
    Tensor<double> x({2, 3, 3, 2}), y;
    test::fill_away_from_zero(x, 0.05, 1.0, 3);
    auto layer = test::make_layer<double>(relu_text(slope), ctx, {&x}, {&y});
    test::check_gradient<double>(*layer, ctx, {&x}, {&y});
  }
}

TEST(ReLU, InPlaceEqualsOutOfPlace) {
  for (double slope : {0.0, 0.25}) {
    SCOPED_TRACE(slope);
    Context ctx = Context::cpu(1);
    Tensor<float> x({3, 4, 5}), y, z({3, 4, 5});
    test::fill_away_from_zero(x, 0.01, 1.0, 5);
    z.copy_from(x);
    auto out = test::make_layer<float>(relu_text(slope), ctx, {&x}, {&y});
    auto in = test::make_layer<float>(relu_text(slope), ctx, {&z}, {&z});
    out->forward(ctx, {&x}, {&y});
    in->forward(ctx, {&z}, {&z});
    test::fill_uniform(y, -1, 1, 6);  // reuse y as a source of top diffs
    std::vector<float> dy(y.cpu_data(), y.cpu_data() + y.count());
    out->forward(ctx, {&x}, {&y});
    std::copy(dy.begin(), dy.end(), y.mutable_cpu_diff());
    std::copy(dy.begin(), dy.end(), z.mutable_cpu_diff());
    out->backward(ctx, {&y}, {true}, {&x});
    in->backward(ctx, {&z}, {true}, {&z});
    EXPECT_EQ(0, std::memcmp(y.cpu_data(), z.cpu_data(), sizeof(float) * y.count()));
    EXPECT_EQ(0, std::memcmp(x.cpu_diff(), z.cpu_diff(), sizeof(float) * x.count()));
  }
}

TEST(ReLU, ThreadCountDoesNotChangeResults) {
  Tensor<float> x({4, 8, 16, 16});  // above parallel_for's serial cutoff
  test::fill_uniform(x, -1, 1, 9);
  std::vector<std::vector<float>> ys, dxs;
  for (int threads : {1, 2}) {
    Context ctx = Context::cpu(threads);
    Tensor<float> y;
    auto layer = test::make_layer<float>(relu_text(0.1), ctx, {&x}, {&y});
    layer->forward(ctx, {&x}, {&y});
    test::fill_uniform(y, -1, 1, 10);
    std::copy(y.cpu_data(), y.cpu_data() + y.count(), y.mutable_cpu_diff());
    layer->forward(ctx, {&x}, {&y});
    layer->backward(ctx, {&y}, {true}, {&x});
    ys.emplace_back(y.cpu_data(), y.cpu_data() + y.count());
    dxs.emplace_back(x.cpu_diff(), x.cpu_diff() + x.count());
  }
  EXPECT_EQ(ys[0], ys[1]);
  EXPECT_EQ(dxs[0], dxs[1]);
}

TEST(ReLU, Errors) {
  Context ctx = Context::cpu(1);
  Tensor<float> x({2, 3}), y, z({2, 3});
  // Negative slope in-place loses the input's sign.
  EXPECT_THROW(test::make_layer<float>(relu_text(-0.5), ctx, {&z}, {&z}), ConfigError);
  EXPECT_THROW(test::make_layer<float>(relu_text(0), ctx, {&x, &z}, {&y}), ConfigError);
  EXPECT_THROW(test::make_layer<float>(relu_text(0), ctx, {&x}, {}), ConfigError);
}

// The CUDA launchers run the same bodies as the CPU path; on a GPU they must agree bit for bit
// (elementwise, no reduction order to differ).
TEST(GpuReLU, LaunchersMatchCpu) {
  CREMA_REQUIRE_GPU();
#if CREMA_WITH_CUDA
  Context ctx = Context::cpu(1);
  Tensor<float> x({3, 4, 5, 6}), y;
  test::fill_uniform(x, -1, 1, 21);
  auto layer = test::make_layer<float>(relu_text(0.1), ctx, {&x}, {&y});
  layer->forward(ctx, {&x}, {&y});
  test::fill_uniform(y, -1, 1, 22);
  std::copy(y.cpu_data(), y.cpu_data() + y.count(), y.mutable_cpu_diff());
  layer->backward(ctx, {&y}, {true}, {&x});
  const std::vector<float> hx(x.cpu_data(), x.cpu_data() + x.count());
  const std::vector<float> hdy(y.cpu_diff(), y.cpu_diff() + y.count());
  testing::DeviceBuffer<float> dx_in(hx), dy(hdy), out(hx.size()), dx(hx.size());
  const kernels::ReluArgs<float> args{0.1f};
  cuda::launch_relu_forward<float>(nullptr, x.count(), args, dx_in.get(), out.get());
  cuda::launch_relu_backward<float>(nullptr, x.count(), args, dx_in.get(), dy.get(), dx.get());
  Tensor<float> want_y({3, 4, 5, 6});
  layer->forward(ctx, {&x}, {&want_y});
  const auto gy = out.to_host();
  const auto gdx = dx.to_host();
  for (int64_t i = 0; i < x.count(); ++i) {
    ASSERT_EQ(gy[i], want_y.cpu_data()[i]) << i;
    ASSERT_EQ(gdx[i], x.cpu_diff()[i]) << i;
  }
#endif
}

// The layer's GPU path against its CPU path, forward and backward, separate top and in-place:
// cuDNN's ReLU (slope 0) and the leaky body (slope 0.2), bitwise (selects and one product).
TEST(GpuReLU, LayerMatchesCpu) {
  CREMA_REQUIRE_GPU();
  Tensor<float> x({2, 3, 8, 8});
  test::fill_away_from_zero(x, 0.01, 2.0, 31);
  for (double slope : {0.0, 0.2}) {
    SCOPED_TRACE("negative_slope " + std::to_string(slope));
    for (bool in_place : {false, true})
      test::expect_gpu_matches_cpu(relu_text(slope), x, in_place, 0);
  }
}

}  // namespace
}  // namespace crema
