#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/layer_checks.h"
#include "tests/reference/lrn_ref.h"
#include "tests/test_util.h"

namespace crema {
namespace {

struct LrnCase {
  ref::LrnParams p;
  std::vector<int64_t> shape;
};

std::string lrn_text(const ref::LrnParams& p) {
  return "name: 'norm' type: 'LRN' lrn_param { local_size: " + std::to_string(p.local_size) +
         " alpha: " + test::num(p.alpha) + " beta: " + test::num(p.beta) + " k: " + test::num(p.k) +
         " norm_region: " + (p.across ? "ACROSS_CHANNELS" : "WITHIN_CHANNEL") + " }";
}

// Large alphas so the normalization is far from the identity.
std::vector<LrnCase> lrn_cases() {
  return {
      {{5, 1e-4, 0.75, 1, true}, {2, 7, 3, 4}},  // AlexNet's setting
      {{5, 2.0, 0.75, 1, true}, {2, 7, 3, 4}},  {{3, 1.5, 0.6, 2, true}, {1, 4, 2, 5}},
      {{7, 0.8, 1.2, 0.5, true}, {2, 3, 2, 2}},  // window wider than the channel count
      {{1, 0.5, 0.75, 1, true}, {1, 3, 2, 2}},  {{3, 1.0, 0.75, 1, false}, {2, 2, 5, 6}},
      {{5, 3.0, 0.5, 7, false}, {1, 2, 3, 4}},  // k is ignored within a channel
      {{1, 0.5, 0.9, 1, false}, {1, 2, 3, 3}},
  };
}

template <class T>
void check_against_reference(const LrnCase& c, double tol) {
  Context ctx = Context::cpu(1);
  Tensor<T> x(c.shape);
  test::fill_uniform(x, -1.5, 1.5, 11);
  const auto got = test::forward_backward(lrn_text(c.p), ctx, x, false);
  ASSERT_EQ(got.top_shape, x.shape());
  const auto dy = test::random_values<T>(x.count(), 99);
  ref::LrnParams p = c.p;
  p.alpha = test::f32(p.alpha);
  p.beta = test::f32(p.beta);
  p.k = test::f32(p.k);
  const auto want =
      ref::lrn(x.cpu_data(), dy.data(), c.shape[0], c.shape[1], c.shape[2], c.shape[3], p);
  test::expect_near_ref(got.y.data(), want.y.data(), x.count(), tol, "lrn y");
  test::expect_near_ref(got.dx.data(), want.dx.data(), x.count(), tol, "lrn dx");
}

TEST(LRN, ForwardBackwardMatchReference) {
  for (const auto& c : lrn_cases()) {
    SCOPED_TRACE(lrn_text(c.p));
    check_against_reference<float>(c, 1e-5);
    check_against_reference<double>(c, 1e-12);
  }
}

// One hand-computed value: across 3 channels holding 1, 2, 3 (local_size 3, alpha 3, beta 1,
// k 1), the middle channel's scale is 1 + 3/3 * (1 + 4 + 9) = 15, so y = 2 / 15.
TEST(LRN, HandComputedAcrossChannels) {
  Context ctx = Context::cpu(1);
  Tensor<double> x({1, 3, 1, 1});
  for (int c = 0; c < 3; ++c) x.mutable_cpu_data()[c] = c + 1;
  const auto got = test::forward_backward<double>(
      "name: 'n' type: 'LRN' lrn_param { local_size: 3 alpha: 3 beta: 1 }", ctx, x, false);
  EXPECT_NEAR(got.y[0], 1.0 / (1 + 5), 1e-15);  // channel 0: 1 + 4
  EXPECT_NEAR(got.y[1], 2.0 / 15, 1e-15);
  EXPECT_NEAR(got.y[2], 3.0 / (1 + 13), 1e-15);  // channel 2: 4 + 9
}

TEST(LRN, GradientDouble) {
  for (const auto& c : lrn_cases()) {
    SCOPED_TRACE(lrn_text(c.p));
    Context ctx = Context::cpu(1);
    Tensor<double> x(c.shape), y;
    test::fill_uniform(x, -1.5, 1.5, 3);
    auto layer = test::make_layer<double>(lrn_text(c.p), ctx, {&x}, {&y});
    test::check_gradient<double>(*layer, ctx, {&x}, {&y});
  }
}

TEST(LRN, ThreadCountDoesNotChangeResults) {
  Tensor<float> x({2, 16, 12, 10});  // 384 rows: above parallel_for's serial cutoff
  test::fill_uniform(x, -1, 1, 9);
  test::expect_thread_invariant(lrn_text({5, 1.0, 0.75, 2, true}), x);
  test::expect_thread_invariant(lrn_text({3, 1.0, 0.75, 1, false}), x);
}

TEST(LRN, Errors) {
  Context ctx = Context::cpu(1);
  Tensor<float> x({1, 3, 4, 4}), y, x3({3, 4, 4});
  ref::LrnParams even{4, 1, 0.75, 1, true};
  EXPECT_THROW(test::make_layer<float>(lrn_text(even), ctx, {&x}, {&y}), ConfigError);
  even.across = false;
  EXPECT_THROW(test::make_layer<float>(lrn_text(even), ctx, {&x}, {&y}), ConfigError);
  EXPECT_THROW(test::make_layer<float>(lrn_text({0, 1, 0.75, 1, true}), ctx, {&x}, {&y}),
               ConfigError);
  EXPECT_THROW(test::make_layer<float>(lrn_text({3, 1, 0.75, 1, true}), ctx, {&x3}, {&y}),
               ShapeError);
  EXPECT_THROW(test::make_layer<float>(lrn_text({3, 1, 0.75, 1, true}), ctx, {&x}, {&x}),
               ConfigError);
}

}  // namespace
}  // namespace crema
