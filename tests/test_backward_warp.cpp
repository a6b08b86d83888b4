#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "core/io.h"
#include "cuda_kernels/backward_warp.h"
#include "tests/cuda_test_util.h"
#include "tests/flow_test_util.h"
#include "tests/gpu_compare.h"
#include "tests/layer_checks.h"
#include "tests/reference/backward_warp_ref.h"
#include "tests/test_util.h"

namespace crema {
namespace {

std::string warp_text(bool border, bool align = false) {
  return std::string("name: 'warp' type: 'BackwardWarp' backward_warp_param { padding: ") +
         (border ? "BORDER" : "ZEROS") + " align_corners: " + (align ? "true" : "false") + " }";
}

template <class T>
void check_against_reference(bool border, int64_t n, int64_t c, int64_t h, int64_t w, double amp,
                             double tol) {
  Context ctx = Context::cpu(1);
  Tensor<T> x({n, c, h, w}), flow({n, 2, h, w}), y;
  test::fill_uniform(x, -1, 1, 31);
  test::fill_uniform(flow, -amp, amp, 32);  // reaches well outside the image
  auto layer = test::make_layer<T>(warp_text(border), ctx, {&x, &flow}, {&y});
  ASSERT_EQ(y.shape(), x.shape());
  const std::vector<T> dy = test::random_vector<T>(y.count(), 33);
  const test::FlowOutputs got = test::run_with_flow(*layer, ctx, x, flow, y, dy);
  const auto want =
      ref::backward_warp(x.cpu_data(), flow.cpu_data(), dy.data(), n, c, h, w, border);
  test::expect_near(got.y.data(), want.y.data(), y.count(), tol, "y");
  test::expect_near(got.dimage.data(), want.dx.data(), x.count(), tol, "dx");
  test::expect_near(got.dflow.data(), want.dflow.data(), flow.count(), tol, "dflow");
}

TEST(BackwardWarp, ForwardBackwardMatchReference) {
  for (bool border : {false, true}) {
    SCOPED_TRACE(border ? "border" : "zeros");
    check_against_reference<double>(border, 2, 3, 5, 7, 4.0, 1e-12);
    check_against_reference<float>(border, 2, 3, 6, 4, 2.5, 1e-5);
    check_against_reference<double>(border, 1, 2, 1, 6, 1.5, 1e-12);  // single row
    check_against_reference<double>(border, 1, 2, 4, 1, 1.5, 1e-12);  // single column
  }
}

// Flow 0 is the identity; whole-pixel flows shift the image (zeros or edge values enter).
TEST(BackwardWarp, IntegerFlowsShiftExactly) {
  Context ctx = Context::cpu(1);
  Tensor<float> x({1, 2, 3, 4}), flow({1, 2, 3, 4}), y;
  test::fill_uniform(x, -1, 1, 41);
  flow.set_data(0.f);
  auto zeros = test::make_layer<float>(warp_text(false), ctx, {&x, &flow}, {&y});
  zeros->forward(ctx, {&x, &flow}, {&y});
  for (int64_t i = 0; i < x.count(); ++i) ASSERT_EQ(y.cpu_data()[i], x.cpu_data()[i]) << i;
  for (int64_t i = 0; i < 12; ++i) flow.mutable_cpu_data()[i] = 1.f;  // u = +1: x + 1
  zeros->forward(ctx, {&x, &flow}, {&y});
  for (int64_t k = 0; k < 2; ++k)
    for (int64_t r = 0; r < 3; ++r)
      for (int64_t col = 0; col < 4; ++col) {
        const float want = col < 3 ? x.cpu_data()[(k * 3 + r) * 4 + col + 1] : 0.f;
        ASSERT_EQ(y.cpu_data()[(k * 3 + r) * 4 + col], want) << k << " " << r << " " << col;
      }
  auto border = test::make_layer<float>(warp_text(true), ctx, {&x, &flow}, {&y});
  border->forward(ctx, {&x, &flow}, {&y});
  for (int64_t k = 0; k < 2; ++k)
    for (int64_t r = 0; r < 3; ++r)
      ASSERT_EQ(y.cpu_data()[(k * 3 + r) * 4 + 3], x.cpu_data()[(k * 3 + r) * 4 + 3]);
}

TEST(BackwardWarp, MatchesGridSampleGolden) {
  const std::string dir = std::string(CREMA_SOURCE_DIR) + "/tests/golden/backward_warp/";
  for (bool border : {false, true}) {
    for (bool align : {false, true}) {
      const std::string name =
          std::string(border ? "border" : "zeros") + (align ? "_align" : "_noalign");
      SCOPED_TRACE(name);
      auto load = [&](const char* key) { return read_npy(dir + name + "_" + key + ".npy"); };
      const NpyArray gx = load("x"), gflow = load("flow"), gdy = load("dy"), gy = load("y"),
                     gdx = load("dx"), gdflow = load("dflow");
      Context ctx = Context::cpu(1);
      Tensor<double> x(gx.shape), flow(gflow.shape), y;
      std::copy(gx.data.begin(), gx.data.end(), x.mutable_cpu_data());
      std::copy(gflow.data.begin(), gflow.data.end(), flow.mutable_cpu_data());
      auto layer = test::make_layer<double>(warp_text(border, align), ctx, {&x, &flow}, {&y});
      const test::FlowOutputs got = test::run_with_flow(*layer, ctx, x, flow, y, gdy.data);
      // grid_sample goes through the normalised grid and back: rounding differences only.
      test::expect_near(got.y.data(), gy.data.data(), y.count(), 1e-12, "y");
      test::expect_near(got.dimage.data(), gdx.data.data(), x.count(), 1e-12, "dx");
      test::expect_near(got.dflow.data(), gdflow.data.data(), flow.count(), 1e-10, "dflow");
    }
  }
}

TEST(BackwardWarp, GradientDouble) {
  for (bool border : {false, true}) {
    SCOPED_TRACE(border ? "border" : "zeros");
    Context ctx = Context::cpu(1);
    Tensor<double> x({2, 2, 4, 5}), flow({2, 2, 4, 5}), y;
    test::fill_uniform(x, -1, 1, 51);
    test::fill_flow_away_from_integers(flow, 1, 2.5, 52);
    auto layer = test::make_layer<double>(warp_text(border), ctx, {&x, &flow}, {&y});
    test::check_gradient<double>(*layer, ctx, {&x, &flow}, {&y});
  }
}

TEST(BackwardWarp, ThreadCountDoesNotChangeResults) {
  for (bool border : {false, true}) {
    SCOPED_TRACE(border ? "border" : "zeros");
    // Output rows (768) above parallel_for's serial cutoff; rows and planes use all threads.
    Tensor<float> x({4, 3, 64, 6}), flow({4, 2, 64, 6});
    test::fill_uniform(x, -1, 1, 61);
    test::fill_uniform(flow, -3, 3, 62);
    std::vector<test::FlowOutputs> runs;
    for (int threads : {1, 2}) {
      Context ctx = Context::cpu(threads);
      Tensor<float> y;
      auto layer = test::make_layer<float>(warp_text(border), ctx, {&x, &flow}, {&y});
      runs.push_back(
          test::run_with_flow(*layer, ctx, x, flow, y, test::random_vector<float>(y.count(), 63)));
    }
    EXPECT_EQ(runs[0].y, runs[1].y);
    EXPECT_EQ(runs[0].dimage, runs[1].dimage);
    EXPECT_EQ(runs[0].dflow, runs[1].dflow);
  }
}

// NaN, infinite and huge flows never index outside the image (the sanitizer build checks
// that). Non-finite positions sample nothing (output 0, no gradient); so do huge finite ones
// with ZEROS padding, while BORDER clamps them onto the border with a zero flow gradient.
TEST(BackwardWarp, NonFiniteAndHugeFlowsStayInBounds) {
  const float bad[] = {std::numeric_limits<float>::quiet_NaN(),
                       std::numeric_limits<float>::infinity(),
                       -std::numeric_limits<float>::infinity(),
                       1e30f,
                       -1e30f,
                       3e9f};
  for (bool border : {false, true}) {
    SCOPED_TRACE(border ? "border" : "zeros");
    Context ctx = Context::cpu(1);
    Tensor<float> x({1, 2, 3, 4}), flow({1, 2, 3, 4}), y;
    test::fill_uniform(x, -1, 1, 71);
    test::fill_uniform(flow, -0.4, 0.4, 72);
    // Pixel 2k gets bad[k] on axis k % 2.
    for (int k = 0; k < 6; ++k) flow.mutable_cpu_data()[(k % 2) * 12 + 2 * k] = bad[k];
    auto layer = test::make_layer<float>(warp_text(border), ctx, {&x, &flow}, {&y});
    const test::FlowOutputs got =
        test::run_with_flow(*layer, ctx, x, flow, y, test::random_vector<float>(y.count(), 73));
    for (int k = 0; k < 6; ++k) {
      SCOPED_TRACE(k);
      const int64_t p = 2 * k, axis = k % 2;
      if (border && std::isfinite(bad[k])) {
        EXPECT_EQ(got.dflow[axis * 12 + p], 0.0);
        for (int64_t c = 0; c < 2; ++c) EXPECT_TRUE(std::isfinite(got.y[c * 12 + p]));
        continue;
      }
      for (int64_t c = 0; c < 2; ++c) EXPECT_EQ(got.y[c * 12 + p], 0.0);
      EXPECT_EQ(got.dflow[p], 0.0);
      EXPECT_EQ(got.dflow[12 + p], 0.0);
    }
    for (double v : got.dimage) EXPECT_TRUE(std::isfinite(v));
    // The well-behaved pixels still match the reference.
    const auto want =
        ref::backward_warp(x.cpu_data(), flow.cpu_data(), y.cpu_diff(), 1, 2, 3, 4, border);
    test::expect_near(got.y.data(), want.y.data(), y.count(), 1e-5, "y");
    test::expect_near(got.dimage.data(), want.dx.data(), x.count(), 1e-5, "dx");
  }
}

TEST(BackwardWarp, Errors) {
  Context ctx = Context::cpu(1);
  Tensor<float> x({2, 3, 4, 5}), y, flow3({2, 3, 4, 5}), flow_hw({2, 2, 4, 6}),
      flow_n({1, 2, 4, 5}), flow_3d({2, 2, 20}), x3({2, 3, 20}), flow({2, 2, 4, 5});
  EXPECT_THROW(test::make_layer<float>(warp_text(false), ctx, {&x, &flow3}, {&y}), ShapeError);
  EXPECT_THROW(test::make_layer<float>(warp_text(false), ctx, {&x, &flow_hw}, {&y}), ShapeError);
  EXPECT_THROW(test::make_layer<float>(warp_text(false), ctx, {&x, &flow_n}, {&y}), ShapeError);
  EXPECT_THROW(test::make_layer<float>(warp_text(false), ctx, {&x, &flow_3d}, {&y}), ShapeError);
  EXPECT_THROW(test::make_layer<float>(warp_text(false), ctx, {&x3, &flow_3d}, {&y}), ShapeError);
  EXPECT_THROW(test::make_layer<float>(warp_text(false), ctx, {&x}, {&y}), ConfigError);
  EXPECT_THROW(test::make_layer<float>(warp_text(false), ctx, {&x, &flow}, {&x}), ConfigError);
}

// Same bodies, same summation order (gathers, and the input gradient owned per plane); only
// nvcc's fused multiply-adds may round differently from the CPU build, hence the tolerance.
TEST(GpuBackwardWarp, LaunchersMatchCpu) {
  CREMA_REQUIRE_GPU();
#if CREMA_WITH_CUDA
  for (bool border : {false, true}) {
    SCOPED_TRACE(border ? "border" : "zeros");
    Context ctx = Context::cpu(1);
    Tensor<float> x({2, 3, 9, 11}), flow({2, 2, 9, 11}), y;
    test::fill_uniform(x, -1, 1, 81);
    test::fill_uniform(flow, -3, 3, 82);
    auto layer = test::make_layer<float>(warp_text(border), ctx, {&x, &flow}, {&y});
    const std::vector<float> hdy = test::random_vector<float>(y.count(), 83);
    const test::FlowOutputs want = test::run_with_flow(*layer, ctx, x, flow, y, hdy);
    const std::vector<float> hx(x.cpu_data(), x.cpu_data() + x.count());
    const std::vector<float> hflow(flow.cpu_data(), flow.cpu_data() + flow.count());
    testing::DeviceBuffer<float> dx_in(hx), dflow_in(hflow), ddy(hdy), out(hx.size()),
        dx(hx.size()), dflow(hflow.size());
    testing::DeviceBuffer<kernels::WarpTap<float>> taps(
        std::vector<kernels::WarpTap<float>>(2 * 9 * 11));
    const kernels::BackwardWarpArgs a{3, 9, 11, border};
    cuda::launch_backward_warp_taps<float>(nullptr, 2 * 9 * 11, a, dflow_in.get(), taps.get());
    cuda::launch_backward_warp_forward<float>(nullptr, 2 * 3 * 9, a, taps.get(), dx_in.get(),
                                              out.get());
    cuda::launch_backward_warp_backward_flow<float>(nullptr, 2 * 9, a, taps.get(), dx_in.get(),
                                                    ddy.get(), dflow.get());
    cuda::launch_backward_warp_backward_input<float>(nullptr, 2 * 3, a, taps.get(), ddy.get(),
                                                     dx.get());
    const auto gy = out.to_host(), gdx = dx.to_host(), gdflow = dflow.to_host();
    const std::vector<double> y64(gy.begin(), gy.end()), dx64(gdx.begin(), gdx.end()),
        dflow64(gdflow.begin(), gdflow.end());
    test::expect_near(y64.data(), want.y.data(), y64.size(), 1e-5, "gpu y");
    test::expect_near(dx64.data(), want.dimage.data(), dx64.size(), 1e-5, "gpu dx");
    test::expect_near(dflow64.data(), want.dflow.data(), dflow64.size(), 1e-5, "gpu dflow");
  }
#endif
}

// The layer's GPU path (taps, forward, image and flow gradients) against its CPU path, ZEROS and
// BORDER padding, with flows reaching outside the image. GATHER bodies, but bilinear weights and
// their derivatives are multiply-adds that nvcc fuses: 1e-5 relative.
TEST(GpuBackwardWarp, LayerMatchesCpu) {
  CREMA_REQUIRE_GPU();
  for (const bool border : {false, true}) {
    for (const bool align : {false, true}) {
      SCOPED_TRACE(warp_text(border, align));
      Tensor<float> x({2, 5, 9, 11}), flow({2, 2, 9, 11});
      test::fill_uniform(x, -1, 1, 81);
      test::fill_uniform(flow, -4, 4, 82);
      for (const bool flow_grad : {true, false}) {
        test::expect_gpu_matches_cpu_multi<float>(warp_text(border, align), {&x, &flow},
                                                  {true, flow_grad}, test::kGpuMathTol);
      }
    }
  }
}

}  // namespace
}  // namespace crema
