#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "tests/reference/softmax_loss_ref.h"
#include "tests/reference/softmax_ref.h"
#include "tests/cuda_test_util.h"
#include "tests/gpu_compare.h"
#include "tests/layer_checks.h"
#include "tests/test_util.h"

namespace crema {
namespace {

using test::make_layer;

template <class T>
std::vector<double> to_vec(const Tensor<T>& t, bool diff = false) {
  const T* p = diff ? t.cpu_diff() : t.cpu_data();
  return std::vector<double>(p, p + t.count());
}

/// Random class labels in [0, classes); about one in `ignore_every` is `ignore` (0: none).
template <class T>
void fill_labels(Tensor<T>& labels, int64_t classes, uint64_t seed, int ignore_every = 0,
                 int ignore = 0) {
  std::mt19937_64 gen(seed);
  std::uniform_int_distribution<int64_t> cls(0, classes - 1);
  T* d = labels.mutable_cpu_data();
  for (int64_t i = 0; i < labels.count(); ++i)
    d[i] = static_cast<T>(ignore_every > 0 && i % ignore_every == 1 ? ignore : cls(gen));
}

std::string loss_text(int axis, const std::string& loss_param, const std::string& extra = "") {
  return "name: 'loss' type: 'SoftmaxWithLoss' softmax_param { axis: " + std::to_string(axis) +
         " } loss_param { " + loss_param + " } " + extra;
}

struct Case {
  std::vector<int64_t> scores;
  int axis;  // as written in the prototxt (may be negative)
  std::vector<int64_t> labels;
};

const std::vector<Case> kCases = {
    {{4, 5}, 1, {4}},
    {{2, 5, 3, 4}, 1, {2, 1, 3, 4}},
    {{2, 3, 5, 4}, 2, {2, 3, 4}},
    {{2, 3, 4, 5}, -1, {24}},
};

struct Mode {
  std::string text;
  ref::LossNorm norm;
};

const std::vector<Mode> kModes = {
    {"normalization: FULL", ref::LossNorm::kFull},
    {"normalization: VALID", ref::LossNorm::kValid},
    {"normalization: BATCH_SIZE", ref::LossNorm::kBatchSize},
    {"normalization: NONE", ref::LossNorm::kNone},
    {"", ref::LossNorm::kValid},  // the default
    {"normalize: true", ref::LossNorm::kValid},
    {"normalize: false", ref::LossNorm::kBatchSize},
    {"normalize: false normalization: FULL", ref::LossNorm::kFull},
    {"normalize: true normalization: NONE", ref::LossNorm::kNone},
};

template <class T>
void check_against_reference(const Case& c, const Mode& m, bool has_ignore, int ignore,
                             double tol) {
  SCOPED_TRACE(m.text + (has_ignore ? " ignore " + std::to_string(ignore) : ""));
  Context ctx = Context::cpu(1);
  const int64_t classes = c.scores[c.axis < 0 ? c.axis + c.scores.size() : c.axis];
  Tensor<T> x(c.scores), labels(c.labels), loss, prob;
  test::fill_uniform(x, -3, 3, 41);
  fill_labels(labels, classes, 42, has_ignore ? 3 : 0, ignore);
  const std::string lp =
      m.text + (has_ignore ? " ignore_label: " + std::to_string(ignore) : std::string());
  TensorVec<T> bottom{&x, &labels}, top{&loss, &prob};
  auto layer = make_layer<T>(loss_text(c.axis, lp), ctx, bottom, top);
  const T returned = layer->forward(ctx, bottom, top);
  ASSERT_EQ(loss.num_axes(), 0);
  ASSERT_EQ(prob.shape(), c.scores);
  const int axis = c.axis < 0 ? c.axis + static_cast<int>(c.scores.size()) : c.axis;
  const auto want =
      ref::softmax_loss(to_vec(x), to_vec(labels), c.scores, axis, m.norm, has_ignore, ignore);
  EXPECT_NEAR(loss.cpu_data()[0], want.loss, tol * std::max(1.0, want.loss));
  EXPECT_EQ(returned, loss.cpu_data()[0]);  // loss weight 1
  const auto want_prob = ref::softmax(to_vec(x), c.scores, axis);
  std::vector<T> want_prob_t(want_prob.begin(), want_prob.end());
  test::expect_near(prob.cpu_data(), want_prob_t.data(), prob.count(), tol, "prob");

  x.set_diff(T(7));
  layer->backward(ctx, top, {true, false}, bottom);
  std::vector<T> want_grad(want.grad.begin(), want.grad.end());
  test::expect_near(x.cpu_diff(), want_grad.data(), x.count(), tol, "scores diff");
}

TEST(SoftmaxWithLoss, ForwardBackwardMatchReferenceForEachNormalization) {
  for (const Case& c : kCases) {
    SCOPED_TRACE(shape_string(c.scores) + " axis " + std::to_string(c.axis));
    for (const Mode& m : kModes) {
      check_against_reference<double>(c, m, false, 0, 1e-12);
      check_against_reference<double>(c, m, true, 255, 1e-12);
      check_against_reference<double>(c, m, true, -1, 1e-12);
      check_against_reference<float>(c, m, true, 2, 1e-5);  // a class index can be ignored too
      check_against_reference<float>(c, m, false, 0, 1e-5);
    }
  }
}

TEST(SoftmaxWithLoss, HandComputedTwoClassLoss) {
  Context ctx = Context::cpu(1);
  // p(label) = 3/4 and 1/4: loss = -(log(3/4) + log(1/4)) / 2 under VALID.
  Tensor<double> x({2, 2}), labels({2}), loss;
  const double l3 = std::log(3.0);
  double* d = x.mutable_cpu_data();
  d[0] = 0, d[1] = l3, d[2] = 0, d[3] = l3;
  labels.mutable_cpu_data()[0] = 1, labels.mutable_cpu_data()[1] = 0;
  TensorVec<double> bottom{&x, &labels}, top{&loss};
  auto layer = make_layer<double>(loss_text(1, ""), ctx, bottom, top);
  layer->forward(ctx, bottom, top);
  EXPECT_NEAR(loss.cpu_data()[0], -(std::log(0.75) + std::log(0.25)) / 2, 1e-14);
}

TEST(SoftmaxWithLoss, AllIgnoredGivesZeroLossAndGradient) {
  Context ctx = Context::cpu(1);
  Tensor<double> x({3, 4}), labels({3}), loss;
  test::fill_uniform(x, -1, 1, 3);
  labels.set_data(-1);
  TensorVec<double> bottom{&x, &labels}, top{&loss};
  for (const char* mode : {"normalization: VALID", "normalization: FULL"}) {
    auto layer =
        make_layer<double>(loss_text(1, std::string(mode) + " ignore_label: -1"), ctx, bottom, top);
    EXPECT_EQ(layer->forward(ctx, bottom, top), 0.0);
    x.set_diff(7);
    layer->backward(ctx, top, {true, false}, bottom);
    for (int64_t i = 0; i < x.count(); ++i) EXPECT_EQ(x.cpu_diff()[i], 0.0);
  }
}

TEST(SoftmaxWithLoss, LossWeightScalesLossAndGradient) {
  Context ctx = Context::cpu(1);
  Tensor<double> x({2, 5, 3}), labels({2, 3}), loss;
  test::fill_uniform(x, -2, 2, 51);
  fill_labels(labels, 5, 52);
  TensorVec<double> bottom{&x, &labels}, top{&loss};
  auto plain = make_layer<double>(loss_text(1, ""), ctx, bottom, top);
  const double l1 = plain->forward(ctx, bottom, top);
  plain->backward(ctx, top, {true, false}, bottom);
  const auto g1 = to_vec(x, true);
  auto weighted = make_layer<double>(loss_text(1, "", "loss_weight: 2"), ctx, bottom, top);
  const double l2 = weighted->forward(ctx, bottom, top);
  EXPECT_DOUBLE_EQ(l2, 2 * l1);
  EXPECT_DOUBLE_EQ(loss.cpu_data()[0], l1);  // the top holds the unweighted loss
  weighted->backward(ctx, top, {true, false}, bottom);
  ASSERT_GT(std::fabs(g1[0]), 0.0);
  for (int64_t i = 0; i < x.count(); ++i) EXPECT_DOUBLE_EQ(x.cpu_diff()[i], 2 * g1[i]) << i;
}

TEST(SoftmaxWithLoss, GradientCheckDouble) {
  const std::vector<std::string> params = {"", "normalization: FULL ignore_label: 1",
                                           "normalization: BATCH_SIZE", "normalization: NONE"};
  for (const Case& c : kCases) {
    for (const std::string& lp : params) {
      SCOPED_TRACE(shape_string(c.scores) + " axis " + std::to_string(c.axis) + " " + lp);
      Context ctx = Context::cpu(1);
      const int64_t classes = c.scores[c.axis < 0 ? c.axis + c.scores.size() : c.axis];
      Tensor<double> x(c.scores), labels(c.labels), loss;
      test::fill_uniform(x, -2, 2, 61);
      fill_labels(labels, classes, 62);
      TensorVec<double> bottom{&x, &labels}, top{&loss};
      auto layer = make_layer<double>(loss_text(c.axis, lp, "loss_weight: 3"), ctx, bottom, top);
      test::GradCheck opt;
      opt.bottoms = {0};
      test::check_gradient(*layer, ctx, bottom, top, opt);
    }
  }
}

TEST(SoftmaxWithLoss, ThreadsBitwiseIdentical) {
  // 4 * 32 * 32 = 4096 positions: enough work items for parallel_for to use the threads.
  std::vector<std::vector<float>> out;
  for (int threads : {1, 2}) {
    Context ctx = Context::cpu(threads);
    Tensor<float> x({4, 5, 32, 32}), labels({4, 32, 32}), loss, prob;
    test::fill_uniform(x, -4, 4, 71);
    fill_labels(labels, 5, 72, 7, 255);
    TensorVec<float> bottom{&x, &labels}, top{&loss, &prob};
    auto layer = make_layer<float>(
        loss_text(1, "ignore_label: 255", "loss_weight: 1 loss_weight: 0"), ctx, bottom, top);
    layer->forward(ctx, bottom, top);
    layer->backward(ctx, top, {true, false}, bottom);
    std::vector<float> v(loss.cpu_data(), loss.cpu_data() + 1);
    v.insert(v.end(), prob.cpu_data(), prob.cpu_data() + prob.count());
    v.insert(v.end(), x.cpu_diff(), x.cpu_diff() + x.count());
    out.push_back(std::move(v));
  }
  EXPECT_TRUE(out[0] == out[1]);
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const DataError& e) {
    return e.what();
  }
  return "no DataError";
}

TEST(SoftmaxWithLoss, BadLabelsAreDataErrorsNamingTheFirst) {
  Context ctx = Context::cpu(1);
  Tensor<float> x({2, 5, 4, 4}), labels({2, 4, 4}), loss;
  test::fill_uniform(x, -1, 1, 81);
  TensorVec<float> bottom{&x, &labels}, top{&loss};
  auto layer = make_layer<float>(loss_text(1, ""), ctx, bottom, top);
  auto forward = [&] { layer->forward(ctx, bottom, top); };

  fill_labels(labels, 5, 82);
  EXPECT_NO_THROW(forward());
  labels.mutable_cpu_data()[20] = -1;
  labels.mutable_cpu_data()[12] = 7;
  EXPECT_NE(error_of(forward).find("label 7 at position 12 is outside [0, 5)"), std::string::npos)
      << error_of(forward);
  labels.mutable_cpu_data()[12] = 0;
  EXPECT_NE(error_of(forward).find("label -1 at position 20 is outside [0, 5)"), std::string::npos)
      << error_of(forward);
  labels.mutable_cpu_data()[20] = 5;
  EXPECT_THROW(forward(), DataError);
  labels.mutable_cpu_data()[20] = 2.5f;
  EXPECT_NE(error_of(forward).find("label 2.5 at position 20 is not an integer"), std::string::npos)
      << error_of(forward);
  labels.mutable_cpu_data()[20] = std::nanf("");
  EXPECT_THROW(forward(), DataError);

  // With an ignore_label, only that value is allowed outside [0, C).
  auto ignoring = make_layer<float>(loss_text(1, "ignore_label: 255"), ctx, bottom, top);
  labels.mutable_cpu_data()[20] = 255;
  EXPECT_NO_THROW(ignoring->forward(ctx, bottom, top));
  labels.mutable_cpu_data()[20] = 254;
  EXPECT_THROW(ignoring->forward(ctx, bottom, top), DataError);
}

TEST(SoftmaxWithLoss, ConfigAndShapeErrors) {
  Context ctx = Context::cpu(1);
  Tensor<float> x({2, 5, 4}), labels({2, 4}), bad_labels({2, 3}), loss, prob;
  fill_labels(labels, 5, 91);
  TensorVec<float> bottom{&x, &labels}, top{&loss};

  TensorVec<float> mismatched{&x, &bad_labels};
  try {
    make_layer<float>(loss_text(1, ""), ctx, mismatched, top);
    ADD_FAILURE() << "no error for 6 labels";
  } catch (const ShapeError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("2x3 (6)"), std::string::npos) << msg;
    EXPECT_NE(msg.find("2x5x4 (40)"), std::string::npos) << msg;
  }
  EXPECT_THROW(make_layer<float>(loss_text(3, ""), ctx, bottom, top), ConfigError);
  EXPECT_THROW(make_layer<float>(loss_text(-4, ""), ctx, bottom, top), ConfigError);
  TensorVec<float> one_bottom{&x};
  EXPECT_THROW(make_layer<float>(loss_text(1, ""), ctx, one_bottom, top), ConfigError);
  TensorVec<float> two_tops{&loss, &prob};
  EXPECT_THROW(
      make_layer<float>(loss_text(1, "", "loss_weight: 1 loss_weight: 0.5"), ctx, bottom, two_tops),
      ConfigError);

  auto layer = make_layer<float>(loss_text(1, ""), ctx, bottom, top);
  EXPECT_TRUE(layer->allow_force_backward(0));
  EXPECT_FALSE(layer->allow_force_backward(1));
  layer->forward(ctx, bottom, top);
  try {
    layer->backward(ctx, top, {true, true}, bottom);
    ADD_FAILURE() << "no error for backward to labels";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("cannot backpropagate to labels"), std::string::npos);
  }
}

// The GPU path (softmax and per-position loss bodies on the device, the fixed-order sum and the
// label check on the host) against the CPU for every case and normalization, with ignored
// labels; 1e-5 relative (device exp/log differ from glibc by a few ulp). A bad label is the same
// DataError on the GPU.
TEST(GpuSoftmaxWithLoss, LayerMatchesCpu) {
  CREMA_REQUIRE_GPU();
  for (const Case& c : kCases)
    for (const Mode& m : kModes) {
      SCOPED_TRACE(m.text);
      Tensor<float> x(c.scores), labels(c.labels);
      test::fill_uniform(x, -2, 2, 91);
      const int64_t channels = c.scores[c.axis < 0 ? c.scores.size() + c.axis : c.axis];
      fill_labels(labels, channels, 92, 3, 255);
      test::expect_gpu_matches_cpu_multi<float>(
          loss_text(c.axis, m.text + " ignore_label: 255"), {&x, &labels}, {true, false},
          test::kGpuMathTol);
    }
  {
    SCOPED_TRACE("with the probabilities as top 1");
    Tensor<float> x({2, 5, 4, 4}), labels({2, 4, 4});
    test::fill_uniform(x, -2, 2, 95);
    fill_labels(labels, 5, 96);
    test::expect_gpu_matches_cpu_on<float>(
        loss_text(1, ""), {&x, &labels},
        {.tol = test::kGpuMathTol, .num_tops = 2, .propagate_down = {true, false}});
  }
  Context gpu = Context::gpu(0, 1);
  Tensor<float> x({2, 5, 4, 4}), labels({2, 4, 4}), loss;
  test::fill_uniform(x, -1, 1, 93);
  fill_labels(labels, 5, 94);
  labels.mutable_cpu_data()[12] = 7;
  TensorVec<float> bottom{&x, &labels}, top{&loss};
  auto layer = make_layer<float>(loss_text(1, ""), gpu, bottom, top);
  EXPECT_THROW(layer->forward(gpu, bottom, top), DataError);
}

}  // namespace
}  // namespace crema
