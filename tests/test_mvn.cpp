#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "tests/gpu_compare.h"
#include "tests/layer_checks.h"
#include "tests/reference/mvn_ref.h"
#include "tests/test_util.h"

namespace crema {
namespace {

struct MvnCase {
  bool normalize_variance, across_channels;
  double eps;
};

std::string mvn_text(const MvnCase& c) {
  return std::string("name: 'mvn' type: 'MVN' mvn_param { normalize_variance: ") +
         (c.normalize_variance ? "true" : "false") +
         " across_channels: " + (c.across_channels ? "true" : "false") +
         " eps: " + test::num(c.eps) + " }";
}

// eps 0.1 makes its placement (outside the square root) and the exact gradient visible.
const std::vector<MvnCase> kCases = {
    {true, false, 1e-9}, {true, true, 1e-9}, {false, false, 1e-9},
    {false, true, 1e-9}, {true, false, 0.1}, {true, true, 0.25},
};

template <class T>
void check_against_reference(const MvnCase& c, const std::vector<int64_t>& shape, double tol) {
  Context ctx = Context::cpu(1);
  Tensor<T> x(shape);
  test::fill_uniform(x, -2, 3, 11);
  const auto got = test::forward_backward(mvn_text(c), ctx, x, false);
  ASSERT_EQ(got.top_shape, x.shape());
  const auto dy = test::random_values<T>(x.count(), 99);
  const int64_t groups = c.across_channels ? shape[0] : shape[0] * shape[1];
  const auto want = ref::mvn(x.cpu_data(), dy.data(), groups, x.count() / groups,
                             c.normalize_variance, test::f32(c.eps));
  test::expect_near_ref(got.y.data(), want.y.data(), x.count(), tol, "mvn y");
  test::expect_near_ref(got.dx.data(), want.dx.data(), x.count(), tol, "mvn dx");
}

TEST(MVN, ForwardBackwardMatchReference) {
  for (const auto& c : kCases) {
    for (const auto& shape : std::vector<std::vector<int64_t>>{{2, 3, 4, 5}, {3, 4}, {2, 2, 7}}) {
      SCOPED_TRACE(mvn_text(c));
      check_against_reference<float>(c, shape, 2e-5);
      check_against_reference<double>(c, shape, 1e-11);
    }
  }
}

TEST(MVN, OutputHasZeroMeanAndUnitDeviation) {
  Context ctx = Context::cpu(1);
  Tensor<double> x({2, 3, 4, 4});
  test::fill_uniform(x, -5, 9, 2);
  const auto y = test::forward_backward<double>("name: 'm' type: 'MVN'", ctx, x, false).y;
  for (int g = 0; g < 6; ++g) {
    double mean = 0, sq = 0;
    for (int k = 0; k < 16; ++k) mean += y[g * 16 + k] / 16;
    for (int k = 0; k < 16; ++k) sq += (y[g * 16 + k] - mean) * (y[g * 16 + k] - mean) / 16;
    EXPECT_NEAR(mean, 0, 1e-14);
    EXPECT_NEAR(std::sqrt(sq), 1, 1e-8);
  }
}

TEST(MVN, ConstantGroupGivesZeros) {
  Context ctx = Context::cpu(1);
  Tensor<float> x({1, 2, 3});
  x.set_data(4.5f);
  const auto got = test::forward_backward<float>("name: 'm' type: 'MVN'", ctx, x, false);
  for (float v : got.y) EXPECT_EQ(v, 0.0f);
  for (float v : got.dx) EXPECT_TRUE(std::isfinite(v));
}

TEST(MVN, GradientDouble) {
  for (const auto& c : kCases) {
    SCOPED_TRACE(mvn_text(c));
    Context ctx = Context::cpu(1);
    Tensor<double> x({2, 3, 2, 3}), y;
    test::fill_uniform(x, -2, 3, 3);
    auto layer = test::make_layer<double>(mvn_text(c), ctx, {&x}, {&y});
    test::check_gradient<double>(*layer, ctx, {&x}, {&y});
  }
}

TEST(MVN, InPlaceEqualsOutOfPlace) {
  Tensor<float> x({3, 4, 5});
  test::fill_uniform(x, -2, 3, 5);
  for (const auto& c : kCases) {
    SCOPED_TRACE(mvn_text(c));
    test::expect_in_place_matches(mvn_text(c), x);
  }
}

TEST(MVN, ThreadCountDoesNotChangeResults) {
  Tensor<float> x({8, 40, 3, 3});  // 320 rows per channel
  test::fill_uniform(x, -1, 1, 9);
  test::expect_thread_invariant(mvn_text({true, false, 1e-9}), x);
  test::expect_thread_invariant(mvn_text({true, true, 1e-9}), x);
}

TEST(MVN, Errors) {
  Context ctx = Context::cpu(1);
  Tensor<float> x({2, 3}), y, v({6});
  // Per-channel normalization needs a channel axis.
  EXPECT_THROW(test::make_layer<float>(mvn_text({true, false, 1e-9}), ctx, {&v}, {&y}), ShapeError);
  EXPECT_NO_THROW(test::make_layer<float>(mvn_text({true, true, 1e-9}), ctx, {&v}, {&y}));
  EXPECT_THROW(test::make_layer<float>(mvn_text({true, false, -0.5}), ctx, {&x}, {&y}),
               ConfigError);
  EXPECT_THROW(test::make_layer<float>(mvn_text({true, false, 1e-9}), ctx, {&x, &v}, {&y}),
               ConfigError);
}

// The GPU path against the CPU for every case, separate and in-place tops, and a constant row
// (sigma 0). The row sums run in the same order on both devices, but nvcc fuses the multiply-adds
// of the squared deviations and of the gradient: kGpuMathTol in float, 1e-10 in double.
TEST(GpuMVN, MatchesCpu) {
  CREMA_REQUIRE_GPU();
  for (const auto& c : kCases) {
    SCOPED_TRACE(mvn_text(c));
    for (const auto& shape : std::vector<std::vector<int64_t>>{{2, 3, 4, 5}, {3, 4}, {2, 2, 7}}) {
      SCOPED_TRACE(shape_string(shape));
      for (bool in_place : {false, true}) {
        test::expect_gpu_matches_cpu<float>(mvn_text(c), {shape},
                                            {.tol = test::kGpuMathTol, .in_place = in_place});
        test::expect_gpu_matches_cpu<double>(mvn_text(c), {shape},
                                             {.tol = 1e-10, .in_place = in_place});
      }
    }
    // The first row (image 0's channel 0, or all of image 0 across channels) constant.
    const test::BottomFill<float> constant_row = [&c](size_t, Tensor<float>& t, uint64_t seed) {
      test::fill_uniform(t, -2, 3, seed);
      const int64_t row = c.across_channels ? t.count(1) : t.count(2);
      std::fill(t.mutable_cpu_data(), t.mutable_cpu_data() + row, 4.5f);
    };
    test::expect_gpu_matches_cpu<float>(mvn_text(c), {{2, 3, 4, 5}}, {.tol = test::kGpuMathTol},
                                        constant_row);
  }
}

}  // namespace
}  // namespace crema
