#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "tests/gpu_compare.h"
#include "tests/reference/sigmoid_cross_entropy_loss_ref.h"
#include "tests/test_util.h"

namespace crema {
namespace {

using test::make_layer;

std::string loss_text(const std::string& loss_param, const std::string& extra = "") {
  return "name: 'loss' type: 'SigmoidCrossEntropyLoss' loss_param { " + loss_param + " } " + extra;
}

template <class T>
std::vector<double> to_vec(const Tensor<T>& t, bool diff = false) {
  const T* p = diff ? t.cpu_diff() : t.cpu_data();
  return std::vector<double>(p, p + t.count());
}

/// Targets: soft values in [0, 1] and hard 0/1 ones; every `ignore_every`-th is `ignore`.
template <class T>
void fill_targets(Tensor<T>& t, uint64_t seed, int ignore_every = 0, int ignore = 0) {
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<double> u(0, 1);
  for (int64_t i = 0; i < t.count(); ++i) {
    double v = u(gen);
    if (i % 3 == 0) v = v < 0.5 ? 0 : 1;
    if (ignore_every > 0 && i % ignore_every == 1) v = ignore;
    t.mutable_cpu_data()[i] = static_cast<T>(v);
  }
}

struct Mode {
  std::string text;
  ref::SigmoidCeNorm norm;
};

const std::vector<Mode> kModes = {
    {"normalization: FULL", ref::SigmoidCeNorm::kFull},
    {"normalization: VALID", ref::SigmoidCeNorm::kValid},
    {"normalization: BATCH_SIZE", ref::SigmoidCeNorm::kBatchSize},
    {"normalization: NONE", ref::SigmoidCeNorm::kNone},
    {"", ref::SigmoidCeNorm::kBatchSize},  // Caffe's default for this layer
    {"normalize: true", ref::SigmoidCeNorm::kValid},
    {"normalize: false", ref::SigmoidCeNorm::kBatchSize},
    {"normalize: true normalization: FULL", ref::SigmoidCeNorm::kFull},
};

template <class T>
void check_against_reference(const std::vector<int64_t>& shape_x,
                             const std::vector<int64_t>& shape_t, const Mode& m, bool has_ignore,
                             int ignore, double tol) {
  SCOPED_TRACE(shape_string(shape_x) + " " + m.text +
               (has_ignore ? " ignore " + std::to_string(ignore) : ""));
  Context ctx = Context::cpu(1);
  Tensor<T> x(shape_x), t(shape_t), loss;
  test::fill_uniform(x, -6, 6, 1);
  fill_targets(t, 2, has_ignore ? 4 : 0, ignore);
  const std::string lp =
      m.text + (has_ignore ? " ignore_label: " + std::to_string(ignore) : std::string());
  TensorVec<T> bottom{&x, &t}, top{&loss};
  auto layer = make_layer<T>(loss_text(lp), ctx, bottom, top);
  const T returned = layer->forward(ctx, bottom, top);
  ASSERT_EQ(loss.num_axes(), 0);
  const auto want =
      ref::sigmoid_cross_entropy(to_vec(x), to_vec(t), shape_x[0], m.norm, has_ignore, ignore);
  EXPECT_NEAR(loss.cpu_data()[0], want.loss, tol * std::max(1.0, want.loss));
  EXPECT_EQ(returned, loss.cpu_data()[0]);
  x.set_diff(T(7));
  layer->backward(ctx, top, {true, false}, bottom);
  const std::vector<T> g(want.grad.begin(), want.grad.end());
  test::expect_near(x.cpu_diff(), g.data(), x.count(), tol, "scores diff");
}

TEST(SigmoidCrossEntropyLoss, ForwardBackwardMatchReference) {
  for (const Mode& m : kModes) {
    check_against_reference<double>({4, 3}, {4, 3}, m, false, 0, 1e-12);
    check_against_reference<double>({2, 3, 2, 2}, {2, 12}, m, true, -1, 1e-12);
    check_against_reference<float>({3, 5}, {3, 5}, m, true, 255, 1e-5);
    check_against_reference<float>({6}, {6}, m, false, 0, 1e-5);
  }
}

TEST(SigmoidCrossEntropyLoss, LargeScoresStayFinite) {
  Context ctx = Context::cpu(1);
  Tensor<float> x({1, 4}), t({1, 4}), loss;
  const float xv[] = {100, -100, 100, -100}, tv[] = {1, 0, 0, 1};
  std::copy(xv, xv + 4, x.mutable_cpu_data());
  std::copy(tv, tv + 4, t.mutable_cpu_data());
  TensorVec<float> bottom{&x, &t}, top{&loss};
  auto layer = make_layer<float>(loss_text("normalization: NONE"), ctx, bottom, top);
  layer->forward(ctx, bottom, top);
  EXPECT_NEAR(loss.cpu_data()[0], 200.0f, 1e-3);  // the two wrong ones cost 100 each
  layer->backward(ctx, top, {true, false}, bottom);
  const float want[] = {0, 0, 1, -1};
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(x.cpu_diff()[i], want[i], 1e-6) << i;
}

TEST(SigmoidCrossEntropyLoss, LossWeightScalesLossAndGradient) {
  Context ctx = Context::cpu(1);
  Tensor<double> x({3, 4}), t({3, 4}), loss;
  test::fill_uniform(x, -3, 3, 3);
  fill_targets(t, 4);
  TensorVec<double> bottom{&x, &t}, top{&loss};
  auto plain = make_layer<double>(loss_text(""), ctx, bottom, top);
  const double l1 = plain->forward(ctx, bottom, top);
  plain->backward(ctx, top, {true, false}, bottom);
  const auto g1 = to_vec(x, true);
  auto weighted = make_layer<double>(loss_text("", "loss_weight: 2"), ctx, bottom, top);
  EXPECT_DOUBLE_EQ(weighted->forward(ctx, bottom, top), 2 * l1);
  EXPECT_DOUBLE_EQ(loss.cpu_data()[0], l1);
  weighted->backward(ctx, top, {true, false}, bottom);
  ASSERT_GT(std::fabs(g1[0]), 0.0);
  for (int64_t i = 0; i < x.count(); ++i) EXPECT_DOUBLE_EQ(x.cpu_diff()[i], 2 * g1[i]) << i;
}

TEST(SigmoidCrossEntropyLoss, GradientCheckDouble) {
  for (const char* lp : {"", "normalization: VALID ignore_label: -1", "normalization: FULL"}) {
    SCOPED_TRACE(lp);
    Context ctx = Context::cpu(1);
    Tensor<double> x({2, 3, 2}), t({2, 3, 2}), loss;
    test::fill_uniform(x, -3, 3, 5);
    fill_targets(t, 6, 5, -1);
    TensorVec<double> bottom{&x, &t}, top{&loss};
    auto layer = make_layer<double>(loss_text(lp, "loss_weight: 0.7"), ctx, bottom, top);
    test::GradCheck opt;
    opt.bottoms = {0};
    test::check_gradient(*layer, ctx, bottom, top, opt);
  }
}

TEST(SigmoidCrossEntropyLoss, ThreadsBitwiseIdentical) {
  std::vector<std::vector<float>> out;
  for (int threads : {1, 2}) {
    Context ctx = Context::cpu(threads);
    Tensor<float> x({4, 16384}), t({4, 16384}), loss;  // 4 forward blocks
    test::fill_uniform(x, -5, 5, 7);
    fill_targets(t, 8, 9, -1);
    TensorVec<float> bottom{&x, &t}, top{&loss};
    auto layer =
        make_layer<float>(loss_text("ignore_label: -1 normalization: VALID"), ctx, bottom, top);
    layer->forward(ctx, bottom, top);
    layer->backward(ctx, top, {true, false}, bottom);
    std::vector<float> v(loss.cpu_data(), loss.cpu_data() + 1);
    v.insert(v.end(), x.cpu_diff(), x.cpu_diff() + x.count());
    out.push_back(std::move(v));
  }
  EXPECT_TRUE(out[0] == out[1]);
}

TEST(SigmoidCrossEntropyLoss, Errors) {
  Context ctx = Context::cpu(1);
  Tensor<float> x({2, 3}), t({2, 3}), loss;
  TensorVec<float> top{&loss};
  for (const std::vector<int64_t>& other :
       {std::vector<int64_t>{2, 4}, std::vector<int64_t>{3, 2}, std::vector<int64_t>{6}}) {
    Tensor<float> bad(other);
    EXPECT_THROW(make_layer<float>(loss_text(""), ctx, {&x, &bad}, top), ShapeError)
        << shape_string(other);
  }
  try {
    Tensor<float> bad({2, 4});
    make_layer<float>(loss_text(""), ctx, {&x, &bad}, top);
    ADD_FAILURE() << "expected ShapeError";
  } catch (const ShapeError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("2x4 (8)"), std::string::npos) << msg;
    EXPECT_NE(msg.find("2x3 (6)"), std::string::npos) << msg;
  }
  EXPECT_THROW(make_layer<float>(loss_text(""), ctx, {&x}, top), ConfigError);
  auto layer = make_layer<float>(loss_text(""), ctx, {&x, &t}, top);
  EXPECT_TRUE(layer->allow_force_backward(0));
  EXPECT_FALSE(layer->allow_force_backward(1));
  layer->forward(ctx, {&x, &t}, top);
  EXPECT_THROW(layer->backward(ctx, top, {true, true}, {&x, &t}), ConfigError);
}

// Scores in [-6, 6) and targets with every fourth the ignore_label -1, for the GPU check.
template <class T>
void scores_and_targets(size_t b, Tensor<T>& t, uint64_t seed) {
  if (b == 0)
    test::fill_uniform(t, -6, 6, seed);
  else
    fill_targets(t, seed, 4, -1);
}

// The element loss and the sigmoid use exp and log1p (device math): kGpuMathTol in float.
TEST(GpuSigmoidCrossEntropyLoss, MatchesCpu) {
  CREMA_REQUIRE_GPU();
  for (const Mode& m : kModes) {
    for (bool ignore : {false, true}) {
      const std::string text = loss_text(m.text + (ignore ? " ignore_label: -1" : ""));
      SCOPED_TRACE(text);
      test::expect_gpu_matches_cpu<float>(
          text, {{4, 3}, {4, 3}},
          {.tol = test::kGpuMathTol, .num_tops = 1, .propagate_down = {true, false}},
          scores_and_targets<float>);
    }
  }
  // Several forward blocks; targets of another shape with the same N and count.
  test::expect_gpu_matches_cpu<float>(
      loss_text("ignore_label: -1 normalization: VALID", "loss_weight: 0.5"),
      {{2, 3, 100, 100}, {2, 30000}},
      {.tol = test::kGpuMathTol, .num_tops = 1, .propagate_down = {true, false}},
      scores_and_targets<float>);
}

}  // namespace
}  // namespace crema
