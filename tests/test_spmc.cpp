#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "core/io.h"
#include "cuda_kernels/spmc.h"
#include "tests/cuda_test_util.h"
#include "tests/flow_test_util.h"
#include "tests/gpu_compare.h"
#include "tests/layer_checks.h"
#include "tests/reference/spmc_ref.h"
#include "tests/test_util.h"

namespace crema {
namespace {

std::string spmc_text(int scale) {
  return "name: 'spmc' type: 'SPMC' spmc_param { scale: " + std::to_string(scale) + " }";
}

template <class T>
void check_against_reference(int scale, int64_t n, int64_t c, int64_t h, int64_t w, double amp,
                             double tol) {
  Context ctx = Context::cpu(1);
  Tensor<T> image({n, c, h, w}), flow({n, 2, h, w}), y;
  test::fill_uniform(image, -1, 1, 31 + scale);
  test::fill_uniform(flow, -amp, amp, 32 + scale);  // some targets land outside
  auto layer = test::make_layer<T>(spmc_text(scale), ctx, {&image, &flow}, {&y});
  ASSERT_EQ(y.shape(), (std::vector<int64_t>{n, c, scale * h, scale * w}));
  const std::vector<T> dy = test::random_vector<T>(y.count(), 33);
  const test::FlowOutputs got = test::run_with_flow(*layer, ctx, image, flow, y, dy);
  const auto want =
      ref::spmc(image.cpu_data(), flow.cpu_data(), dy.data(), n, c, h, w, int64_t(scale));
  test::expect_near(got.y.data(), want.y.data(), y.count(), tol, "y");
  test::expect_near(got.dimage.data(), want.dimage.data(), image.count(), tol, "dimage");
  test::expect_near(got.dflow.data(), want.dflow.data(), flow.count(), tol, "dflow");
}

TEST(SPMC, ForwardBackwardMatchReference) {
  for (int scale : {1, 2, 3, 4}) {
    SCOPED_TRACE(scale);
    check_against_reference<double>(scale, 2, 3, 4, 5, 2.0, 1e-12);
    check_against_reference<float>(scale, 2, 2, 5, 3, 1.5, 1e-5);
    check_against_reference<double>(scale, 1, 1, 1, 6, 1.0, 1e-12);  // single row
  }
}

// Zero flow: every LR pixel lands exactly on the top-left of its scale x scale block with
// weight 1, so SPMC equals PixelShuffle's zero_upsample bit for bit; the image gradient is then
// the strided gather of dy.
TEST(SPMC, ZeroFlowEqualsZeroUpsampling) {
  for (int scale : {1, 2, 3, 4}) {
    SCOPED_TRACE(scale);
    Context ctx = Context::cpu(1);
    Tensor<float> image({2, 3, 4, 5}), flow({2, 2, 4, 5}), y, z;
    test::fill_uniform(image, -2, 2, 41);
    flow.set_data(0.f);
    auto spmc = test::make_layer<float>(spmc_text(scale), ctx, {&image, &flow}, {&y});
    auto up = test::make_layer<float>(
        "type: 'PixelShuffle' pixel_shuffle_param { zero_upsample: true upscale_factor: " +
            std::to_string(scale) + " }",
        ctx, {&image}, {&z});
    const std::vector<float> dy = test::random_vector<float>(y.count(), 42);
    const test::FlowOutputs got = test::run_with_flow(*spmc, ctx, image, flow, y, dy);
    up->forward(ctx, {&image}, {&z});
    std::copy(dy.begin(), dy.end(), z.mutable_cpu_diff());
    ASSERT_EQ(y.shape(), z.shape());
    EXPECT_EQ(0, std::memcmp(y.cpu_data(), z.cpu_data(), sizeof(float) * y.count()));
    up->backward(ctx, {&z}, {true}, {&image});
    for (int64_t i = 0; i < image.count(); ++i)
      ASSERT_EQ(got.dimage[i], double(image.cpu_diff()[i])) << i;
  }
}

// Collisions add (no normalisation) and holes stay 0.
TEST(SPMC, CollisionsAddAndHolesStayZero) {
  Context ctx = Context::cpu(1);
  Tensor<double> image({1, 1, 1, 2}), flow({1, 2, 1, 2}), y;
  image.mutable_cpu_data()[0] = 2.0;
  image.mutable_cpu_data()[1] = 3.0;
  double* f = flow.mutable_cpu_data();
  f[0] = 0.5;   // pixel 0: x^s = 2 * 0.5 = 1
  f[1] = -0.5;  // pixel 1: x^s = 2 * (1 - 0.5) = 1
  f[2] = f[3] = 0.0;
  auto layer = test::make_layer<double>(spmc_text(2), ctx, {&image, &flow}, {&y});
  layer->forward(ctx, {&image, &flow}, {&y});
  ASSERT_EQ(y.count(), 8);
  for (int64_t q = 0; q < 8; ++q) EXPECT_EQ(y.cpu_data()[q], q == 1 ? 5.0 : 0.0) << q;
}

TEST(SPMC, MatchesTorchGolden) {
  const std::string dir = std::string(CREMA_SOURCE_DIR) + "/tests/golden/spmc/";
  struct Case {
    const char* name;
    int scale;
  };
  for (const Case& k :
       {Case{"scale2", 2}, Case{"scale3", 3}, Case{"scale4", 4}, Case{"zero_scale3", 3}}) {
    SCOPED_TRACE(k.name);
    auto load = [&](const char* key) { return read_npy(dir + k.name + "_" + key + ".npy"); };
    const NpyArray gi = load("image"), gflow = load("flow"), gdy = load("dy"), gy = load("y"),
                   gdi = load("dimage"), gdflow = load("dflow");
    Context ctx = Context::cpu(1);
    Tensor<double> image(gi.shape), flow(gflow.shape), y;
    std::copy(gi.data.begin(), gi.data.end(), image.mutable_cpu_data());
    std::copy(gflow.data.begin(), gflow.data.end(), flow.mutable_cpu_data());
    auto layer = test::make_layer<double>(spmc_text(k.scale), ctx, {&image, &flow}, {&y});
    ASSERT_EQ(y.shape(), gy.shape);
    const test::FlowOutputs got = test::run_with_flow(*layer, ctx, image, flow, y, gdy.data);
    test::expect_near(got.y.data(), gy.data.data(), y.count(), 1e-12, "y");
    test::expect_near(got.dimage.data(), gdi.data.data(), image.count(), 1e-12, "dimage");
    test::expect_near(got.dflow.data(), gdflow.data.data(), flow.count(), 1e-12, "dflow");
  }
}

TEST(SPMC, GradientDouble) {
  for (int scale : {2, 3}) {
    SCOPED_TRACE(scale);
    Context ctx = Context::cpu(1);
    Tensor<double> image({2, 2, 3, 4}), flow({2, 2, 3, 4}), y;
    test::fill_uniform(image, -1, 1, 51);
    test::fill_flow_away_from_integers(flow, scale, 1.5, 52);
    auto layer = test::make_layer<double>(spmc_text(scale), ctx, {&image, &flow}, {&y});
    test::check_gradient<double>(*layer, ctx, {&image, &flow}, {&y});
  }
}

TEST(SPMC, ThreadCountDoesNotChangeResults) {
  Tensor<float> image({2, 3, 12, 12}), flow({2, 2, 12, 12});  // above the serial cutoff
  test::fill_uniform(image, -1, 1, 61);
  test::fill_uniform(flow, -2, 2, 62);
  std::vector<test::FlowOutputs> runs;
  for (int threads : {1, 2}) {
    Context ctx = Context::cpu(threads);
    Tensor<float> y;
    auto layer = test::make_layer<float>(spmc_text(4), ctx, {&image, &flow}, {&y});
    runs.push_back(test::run_with_flow(*layer, ctx, image, flow, y,
                                       test::random_vector<float>(y.count(), 63)));
  }
  // Deterministic: each HR plane is splatted by one work item in a fixed order.
  EXPECT_EQ(runs[0].y, runs[1].y);
  EXPECT_EQ(runs[0].dimage, runs[1].dimage);
  EXPECT_EQ(runs[0].dflow, runs[1].dflow);
}

// NaN, infinite and huge flows splat nothing, take no gradient and never write outside the
// HR plane (the sanitizer build checks the latter); the rest still matches the reference.
TEST(SPMC, NonFiniteAndHugeFlowsWriteNothing) {
  const float bad[] = {std::numeric_limits<float>::quiet_NaN(),
                       std::numeric_limits<float>::infinity(),
                       -std::numeric_limits<float>::infinity(),
                       1e30f,
                       -1e30f,
                       3e9f,
                       -3e9f};
  Context ctx = Context::cpu(1);
  Tensor<float> image({1, 2, 3, 5}), flow({1, 2, 3, 5}), y;
  test::fill_uniform(image, -1, 1, 71);
  test::fill_uniform(flow, -0.4, 0.4, 72);
  // Pixel 2k gets bad[k] on axis k % 2.
  for (int k = 0; k < 7; ++k) flow.mutable_cpu_data()[(k % 2) * 15 + 2 * k] = bad[k];
  auto layer = test::make_layer<float>(spmc_text(3), ctx, {&image, &flow}, {&y});
  const test::FlowOutputs got =
      test::run_with_flow(*layer, ctx, image, flow, y, test::random_vector<float>(y.count(), 73));
  for (int k = 0; k < 7; ++k) {
    const int64_t p = 2 * k;
    for (int64_t c = 0; c < 2; ++c) EXPECT_EQ(got.dimage[c * 15 + p], 0.0) << k;
    EXPECT_EQ(got.dflow[p], 0.0) << k;
    EXPECT_EQ(got.dflow[15 + p], 0.0) << k;
  }
  // Zeroing the bad pixels' values leaves the output unchanged: they contributed nothing.
  Tensor<float> masked({1, 2, 3, 5}), y2;
  masked.copy_from(image);
  for (int k = 0; k < 7; ++k)
    for (int64_t c = 0; c < 2; ++c) masked.mutable_cpu_data()[c * 15 + 2 * k] = 0.f;
  layer->forward(ctx, {&masked, &flow}, {&y2});
  for (int64_t i = 0; i < y2.count(); ++i) ASSERT_EQ(got.y[i], double(y2.cpu_data()[i])) << i;
  const auto want = ref::spmc(image.cpu_data(), flow.cpu_data(), y.cpu_diff(), 1, 2, 3, 5, 3);
  test::expect_near(got.y.data(), want.y.data(), y.count(), 1e-5, "y");
  test::expect_near(got.dimage.data(), want.dimage.data(), image.count(), 1e-5, "dimage");
}

TEST(SPMC, Errors) {
  Context ctx = Context::cpu(1);
  Tensor<float> image({2, 3, 4, 5}), y, flow3({2, 3, 4, 5}), flow_hw({2, 2, 4, 6}),
      flow_n({1, 2, 4, 5}), flow_3d({2, 2, 20}), image3({2, 3, 20}), flow({2, 2, 4, 5});
  EXPECT_THROW(test::make_layer<float>(spmc_text(2), ctx, {&image, &flow3}, {&y}), ShapeError);
  EXPECT_THROW(test::make_layer<float>(spmc_text(2), ctx, {&image, &flow_hw}, {&y}), ShapeError);
  EXPECT_THROW(test::make_layer<float>(spmc_text(2), ctx, {&image, &flow_n}, {&y}), ShapeError);
  EXPECT_THROW(test::make_layer<float>(spmc_text(2), ctx, {&image, &flow_3d}, {&y}), ShapeError);
  EXPECT_THROW(test::make_layer<float>(spmc_text(2), ctx, {&image3, &flow_3d}, {&y}), ShapeError);
  EXPECT_THROW(test::make_layer<float>(spmc_text(0), ctx, {&image, &flow}, {&y}), ConfigError);
  EXPECT_THROW(test::make_layer<float>(spmc_text(2), ctx, {&image}, {&y}), ConfigError);
  EXPECT_THROW(test::make_layer<float>(spmc_text(2), ctx, {&image, &flow}, {&image}), ConfigError);
  // The default scale is 4.
  auto layer = test::make_layer<float>("type: 'SPMC'", ctx, {&image, &flow}, {&y});
  EXPECT_EQ(y.shape(), (std::vector<int64_t>{2, 3, 16, 20}));
}

// Same bodies and summation order (each HR plane splatted by one work item in a fixed order);
// only nvcc's fused multiply-adds may round differently, hence the tolerance.
TEST(GpuSPMC, LaunchersMatchCpu) {
  CREMA_REQUIRE_GPU();
#if CREMA_WITH_CUDA
  Context ctx = Context::cpu(1);
  Tensor<float> image({2, 3, 7, 9}), flow({2, 2, 7, 9}), y;
  test::fill_uniform(image, -1, 1, 81);
  test::fill_uniform(flow, -2, 2, 82);
  auto layer = test::make_layer<float>(spmc_text(3), ctx, {&image, &flow}, {&y});
  const std::vector<float> hdy = test::random_vector<float>(y.count(), 83);
  const test::FlowOutputs want = test::run_with_flow(*layer, ctx, image, flow, y, hdy);
  const std::vector<float> himage(image.cpu_data(), image.cpu_data() + image.count());
  const std::vector<float> hflow(flow.cpu_data(), flow.cpu_data() + flow.count());
  testing::DeviceBuffer<float> dimage_in(himage), dflow_in(hflow), ddy(hdy), out(hdy.size()),
      dimage(himage.size()), dflow(hflow.size());
  const kernels::SpmcArgs a{3, 7, 9, 3};
  cuda::launch_spmc_forward<float>(nullptr, 2 * 3, a, dimage_in.get(), dflow_in.get(), out.get());
  cuda::launch_spmc_backward_image<float>(nullptr, image.count(), a, dflow_in.get(), ddy.get(),
                                          dimage.get());
  cuda::launch_spmc_backward_flow<float>(nullptr, 2 * 7 * 9, a, dimage_in.get(), dflow_in.get(),
                                         ddy.get(), dflow.get());
  const auto gy = out.to_host(), gdi = dimage.to_host(), gdf = dflow.to_host();
  const std::vector<double> y64(gy.begin(), gy.end()), di64(gdi.begin(), gdi.end()),
      df64(gdf.begin(), gdf.end());
  test::expect_near(y64.data(), want.y.data(), y64.size(), 1e-5, "gpu y");
  test::expect_near(di64.data(), want.dimage.data(), di64.size(), 1e-5, "gpu dimage");
  test::expect_near(df64.data(), want.dflow.data(), df64.size(), 1e-5, "gpu dflow");
#endif
}

// The layer's GPU path (splatting forward, image and flow gradients) against its CPU path for
// several scales, with flows that send some targets outside. GATHER bodies, but the bilinear
// splat weights are products nvcc may fuse into the sums: 1e-5 relative.
TEST(GpuSPMC, LayerMatchesCpu) {
  CREMA_REQUIRE_GPU();
  for (const int scale : {1, 2, 4}) {
    SCOPED_TRACE(spmc_text(scale));
    Tensor<float> image({2, 3, 7, 9}), flow({2, 2, 7, 9});
    test::fill_uniform(image, -1, 1, 91 + scale);
    test::fill_uniform(flow, -2.5, 2.5, 92 + scale);
    for (const bool flow_grad : {true, false}) {
      test::expect_gpu_matches_cpu_multi<float>(spmc_text(scale), {&image, &flow},
                                                {true, flow_grad}, test::kGpuMathTol);
    }
  }
}

}  // namespace
}  // namespace crema
