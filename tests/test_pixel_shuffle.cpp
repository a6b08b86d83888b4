#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/io.h"
#include "cuda_kernels/pixel_shuffle.h"
#include "tests/cuda_test_util.h"
#include "tests/gpu_compare.h"
#include "tests/layer_checks.h"
#include "tests/reference/pixel_shuffle_ref.h"
#include "tests/test_util.h"

namespace crema {
namespace {

std::string shuffle_text(int r, bool zero) {
  return "name: 'ps' type: 'PixelShuffle' pixel_shuffle_param { upscale_factor: " +
         std::to_string(r) + " zero_upsample: " + (zero ? "true" : "false") + " }";
}

// Forward, then backward with dy; returns (y, dx).
template <class T>
std::pair<std::vector<T>, std::vector<T>> run(Layer<T>& layer, Context& ctx, Tensor<T>& x,
                                              Tensor<T>& y, const std::vector<T>& dy) {
  layer.forward(ctx, {&x}, {&y});
  std::copy(dy.begin(), dy.end(), y.mutable_cpu_diff());
  x.set_diff(T(7));
  layer.backward(ctx, {&y}, {true}, {&x});
  return {std::vector<T>(y.cpu_data(), y.cpu_data() + y.count()),
          std::vector<T>(x.cpu_diff(), x.cpu_diff() + x.count())};
}

template <class T>
void check_against_reference(int r, bool zero, int64_t n, int64_t c, int64_t h, int64_t w) {
  Context ctx = Context::cpu(1);
  Tensor<T> x({n, zero ? c : c * r * r, h, w}), y;
  test::fill_uniform(x, -1, 1, 3 + r);
  auto layer = test::make_layer<T>(shuffle_text(r, zero), ctx, {&x}, {&y});
  ASSERT_EQ(y.shape(), (std::vector<int64_t>{n, c, h * r, w * r}));
  const std::vector<T> dy = test::random_vector<T>(y.count(), 5 + r);
  const auto [got_y, got_dx] = run(*layer, ctx, x, y, dy);
  const auto want = ref::pixel_shuffle(x.cpu_data(), dy.data(), n, c, h, w, r, zero);
  // A permutation: exact.
  for (int64_t i = 0; i < y.count(); ++i) ASSERT_EQ(double(got_y[i]), want.y[i]) << i;
  for (int64_t i = 0; i < x.count(); ++i) ASSERT_EQ(double(got_dx[i]), want.dx[i]) << i;
}

TEST(PixelShuffle, ForwardBackwardMatchReference) {
  for (bool zero : {false, true}) {
    for (int r : {1, 2, 3, 4}) {
      SCOPED_TRACE(::testing::Message() << "r " << r << " zero " << zero);
      check_against_reference<float>(r, zero, 2, 3, 4, 5);
      check_against_reference<double>(r, zero, 1, 2, 3, 1);
    }
  }
}

TEST(PixelShuffle, MatchesTorchGolden) {
  const std::string dir = std::string(CREMA_SOURCE_DIR) + "/tests/golden/pixel_shuffle/";
  struct Case {
    const char* name;
    int r;
    bool zero;
  };
  for (const Case& k : {Case{"shuffle_r2", 2, false}, Case{"shuffle_r3", 3, false},
                        Case{"zero_r2", 2, true}, Case{"zero_r3", 3, true}}) {
    SCOPED_TRACE(k.name);
    const NpyArray gx = read_npy(dir + k.name + "_x.npy"), gdy = read_npy(dir + k.name + "_dy.npy"),
                   gy = read_npy(dir + k.name + "_y.npy"), gdx = read_npy(dir + k.name + "_dx.npy");
    Context ctx = Context::cpu(1);
    Tensor<double> x(gx.shape), y;
    std::copy(gx.data.begin(), gx.data.end(), x.mutable_cpu_data());
    auto layer = test::make_layer<double>(shuffle_text(k.r, k.zero), ctx, {&x}, {&y});
    ASSERT_EQ(y.shape(), gy.shape);
    const auto [got_y, got_dx] = run(*layer, ctx, x, y, gdy.data);
    test::expect_near(got_y.data(), gy.data.data(), y.count(), 0.0, "y");
    test::expect_near(got_dx.data(), gdx.data.data(), x.count(), 0.0, "dx");
  }
}

TEST(PixelShuffle, GradientDouble) {
  for (bool zero : {false, true}) {
    SCOPED_TRACE(zero);
    Context ctx = Context::cpu(1);
    Tensor<double> x({2, zero ? 2 : 8, 3, 2}), y;
    test::fill_uniform(x, -1, 1, 9);
    auto layer = test::make_layer<double>(shuffle_text(2, zero), ctx, {&x}, {&y});
    test::check_gradient<double>(*layer, ctx, {&x}, {&y});
  }
}

TEST(PixelShuffle, ThreadCountDoesNotChangeResults) {
  for (bool zero : {false, true}) {
    SCOPED_TRACE(zero);
    Tensor<float> x({2, zero ? 12 : 36, 12, 10});  // rows above the serial cutoff
    test::fill_uniform(x, -1, 1, 11);
    std::vector<std::pair<std::vector<float>, std::vector<float>>> runs;
    for (int threads : {1, 2}) {
      Context ctx = Context::cpu(threads);
      Tensor<float> y;
      auto layer = test::make_layer<float>(shuffle_text(3, zero), ctx, {&x}, {&y});
      runs.push_back(run(*layer, ctx, x, y, test::random_vector<float>(y.count(), 12)));
    }
    EXPECT_EQ(runs[0].first, runs[1].first);
    EXPECT_EQ(runs[0].second, runs[1].second);
  }
}

TEST(PixelShuffle, Errors) {
  Context ctx = Context::cpu(1);
  Tensor<float> x({2, 6, 3, 3}), y, x3({2, 8, 3});
  // 6 channels are not divisible by 2^2.
  EXPECT_THROW(test::make_layer<float>(shuffle_text(2, false), ctx, {&x}, {&y}), ShapeError);
  EXPECT_NO_THROW(test::make_layer<float>(shuffle_text(2, true), ctx, {&x}, {&y}));
  EXPECT_THROW(test::make_layer<float>(shuffle_text(0, false), ctx, {&x}, {&y}), ConfigError);
  EXPECT_THROW(test::make_layer<float>(shuffle_text(0, true), ctx, {&x}, {&y}), ConfigError);
  EXPECT_THROW(test::make_layer<float>(shuffle_text(2, false), ctx, {&x3}, {&y}), ShapeError);
  EXPECT_THROW(test::make_layer<float>(shuffle_text(1, false), ctx, {&x}, {&x}), ConfigError);
  EXPECT_THROW(test::make_layer<float>(shuffle_text(1, false), ctx, {&x, &x}, {&y}), ConfigError);
}

// Pure permutations: the launchers must agree with the CPU bit for bit.
TEST(GpuPixelShuffle, LaunchersMatchCpu) {
  CREMA_REQUIRE_GPU();
#if CREMA_WITH_CUDA
  for (bool zero : {false, true}) {
    SCOPED_TRACE(zero);
    Context ctx = Context::cpu(1);
    Tensor<float> x({2, zero ? 3 : 12, 5, 4}), y;
    test::fill_uniform(x, -1, 1, 21);
    auto layer = test::make_layer<float>(shuffle_text(2, zero), ctx, {&x}, {&y});
    const std::vector<float> hdy = test::random_vector<float>(y.count(), 22);
    const auto [want_y, want_dx] = run(*layer, ctx, x, y, hdy);
    const std::vector<float> hx(x.cpu_data(), x.cpu_data() + x.count());
    testing::DeviceBuffer<float> dx_in(hx), dy(hdy), out(want_y.size()), dx(hx.size());
    const kernels::PixelShuffleArgs a{3, 5, 4, 2};  // 3 output channels either way
    if (zero) {
      cuda::launch_pixel_shuffle_zero_forward<float>(nullptr, y.count(0, 3), a, dx_in.get(),
                                                     out.get());
      cuda::launch_pixel_shuffle_zero_backward<float>(nullptr, x.count(0, 3), a, dy.get(),
                                                      dx.get());
    } else {
      cuda::launch_pixel_shuffle_forward<float>(nullptr, y.count(0, 3), a, dx_in.get(), out.get());
      cuda::launch_pixel_shuffle_backward<float>(nullptr, x.count(0, 3), a, dy.get(), dx.get());
    }
    EXPECT_EQ(out.to_host(), want_y);
    EXPECT_EQ(dx.to_host(), want_dx);
  }
#endif
}

// The layer's GPU path against its CPU path, depth-to-space and zero-upsampling, several factors.
// A permutation (or a strided copy and zeros): bitwise.
TEST(GpuPixelShuffle, LayerMatchesCpu) {
  CREMA_REQUIRE_GPU();
  for (const int r : {1, 2, 3}) {
    for (const bool zero : {false, true}) {
      SCOPED_TRACE(shuffle_text(r, zero));
      Tensor<float> x({2, zero ? 3 : 3 * r * r, 5, 4});
      test::fill_uniform(x, -1, 1, 71 + r);
      test::expect_gpu_matches_cpu(shuffle_text(r, zero), x, false, 0);
    }
  }
}

}  // namespace
}  // namespace crema
