#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "core/io.h"
#include "tests/gpu_compare.h"
#include "tests/reference/infogain_loss_ref.h"
#include "tests/test_util.h"

namespace crema {
namespace {

using test::make_layer;

std::string loss_text(int axis, const std::string& loss_param, const std::string& extra = "",
                      const std::string& source = "") {
  return "name: 'loss' type: 'InfogainLoss' infogain_loss_param { axis: " + std::to_string(axis) +
         (source.empty() ? "" : " source: '" + source + "'") + " } loss_param { " + loss_param +
         " } " + extra;
}

template <class T>
std::vector<double> to_vec(const Tensor<T>& t, bool diff = false) {
  const T* p = diff ? t.cpu_diff() : t.cpu_data();
  return std::vector<double>(p, p + t.count());
}

template <class T>
void fill_labels(Tensor<T>& labels, int64_t classes, uint64_t seed, int ignore_every = 0,
                 int ignore = 0) {
  std::mt19937_64 gen(seed);
  std::uniform_int_distribution<int64_t> cls(0, classes - 1);
  for (int64_t i = 0; i < labels.count(); ++i)
    labels.mutable_cpu_data()[i] =
        static_cast<T>(ignore_every > 0 && i % ignore_every == 1 ? ignore : cls(gen));
}

/// A C x C infogain matrix with a heavy diagonal and small off-diagonal rewards.
template <class T>
void fill_infogain(Tensor<T>& h, int64_t c, uint64_t seed) {
  h.reshape({c, c});
  test::fill_uniform(h, 0, 0.5, seed);
  for (int64_t i = 0; i < c; ++i) h.mutable_cpu_data()[i * c + i] += T(1);
}

/// Writes h as a BlobProto file in the test's temp folder; returns its path.
template <class T>
std::string write_infogain_file(const Tensor<T>& h, const std::string& name) {
  BlobProto proto;
  h.to_proto(&proto);
  const std::string path =
      ::testing::TempDir() + "crema_infogain_" + std::to_string(getpid()) + "_" + name;
  write_file_atomic(path, proto.SerializeAsString());
  return path;
}

struct Case {
  std::vector<int64_t> scores;
  int axis;  // as written
  std::vector<int64_t> labels;
};

const std::vector<Case> kCases = {
    {{4, 5}, 1, {4}},
    {{2, 4, 3, 2}, 1, {2, 3, 2}},
    {{2, 3, 4, 2}, 2, {2, 3, 2}},
    {{3, 2, 4}, -1, {6}},
};

struct Mode {
  std::string text;
  ref::InfogainNorm norm;
};

const std::vector<Mode> kModes = {
    {"normalization: FULL", ref::InfogainNorm::kFull},
    {"normalization: VALID", ref::InfogainNorm::kValid},
    {"normalization: BATCH_SIZE", ref::InfogainNorm::kBatchSize},
    {"normalization: NONE", ref::InfogainNorm::kNone},
    {"", ref::InfogainNorm::kValid},
};

template <class T>
void check_against_reference(const Case& c, const Mode& m, bool has_ignore, int ignore,
                             bool h_from_file, double tol) {
  SCOPED_TRACE(shape_string(c.scores) + " axis " + std::to_string(c.axis) + " " + m.text +
               (has_ignore ? " ignore " + std::to_string(ignore) : "") +
               (h_from_file ? " H from file" : " H as bottom 2"));
  Context ctx = Context::cpu(1);
  const int axis = c.axis < 0 ? c.axis + static_cast<int>(c.scores.size()) : c.axis;
  const int64_t classes = c.scores[axis];
  Tensor<T> x(c.scores), labels(c.labels), h, loss, prob;
  test::fill_uniform(x, -3, 3, 11);
  fill_labels(labels, classes, 12, has_ignore ? 3 : 0, ignore);
  fill_infogain(h, classes, 13);
  std::string lp = m.text + (has_ignore ? " ignore_label: " + std::to_string(ignore) : "");
  TensorVec<T> bottom{&x, &labels}, top{&loss, &prob};
  std::string source;
  if (h_from_file)
    source = write_infogain_file(h, "case");
  else
    bottom.push_back(&h);
  auto layer = make_layer<T>(loss_text(c.axis, lp, "", source), ctx, bottom, top);
  const T returned = layer->forward(ctx, bottom, top);
  ASSERT_EQ(loss.num_axes(), 0);
  ASSERT_EQ(prob.shape(), c.scores);
  const auto want = ref::infogain_loss(to_vec(x), c.scores, axis, to_vec(labels), to_vec(h), m.norm,
                                       has_ignore, ignore);
  EXPECT_NEAR(loss.cpu_data()[0], want.loss, tol * std::max(1.0, want.loss));
  EXPECT_EQ(returned, loss.cpu_data()[0]);
  const std::vector<T> wp(want.prob.begin(), want.prob.end());
  test::expect_near(prob.cpu_data(), wp.data(), prob.count(), tol, "prob");
  x.set_diff(T(7));
  layer->backward(ctx, top, std::vector<bool>(bottom.size(), false), bottom);
  EXPECT_EQ(x.cpu_diff()[0], T(7));  // nothing asked, nothing written
  std::vector<bool> down(bottom.size(), false);
  down[0] = true;
  layer->backward(ctx, top, down, bottom);
  const std::vector<T> g(want.grad.begin(), want.grad.end());
  test::expect_near(x.cpu_diff(), g.data(), x.count(), tol, "scores diff");
}

TEST(InfogainLoss, ForwardBackwardMatchReference) {
  for (const Case& c : kCases) {
    for (const Mode& m : kModes) {
      check_against_reference<double>(c, m, false, 0, false, 1e-12);
      check_against_reference<double>(c, m, true, -1, false, 1e-12);
      check_against_reference<float>(c, m, true, 1, false, 1e-5);
    }
    check_against_reference<double>(c, kModes[1], false, 0, true, 1e-12);
    check_against_reference<float>(c, kModes[0], true, 255, true, 1e-5);
  }
}

TEST(InfogainLoss, IdentityMatrixMatchesSoftmaxWithLoss) {
  Context ctx = Context::cpu(1);
  Tensor<double> x({3, 4, 2}), labels({3, 2}), h({4, 4}), loss, loss_sm;
  test::fill_uniform(x, -2, 2, 21);
  fill_labels(labels, 4, 22);
  for (int i = 0; i < 4; ++i) h.mutable_cpu_data()[i * 5] = 1;
  TensorVec<double> bottom{&x, &labels, &h}, top{&loss};
  auto layer = make_layer<double>(loss_text(1, ""), ctx, bottom, top);
  layer->forward(ctx, bottom, top);
  layer->backward(ctx, top, {true, false, false}, bottom);
  const auto g = to_vec(x, true);
  TensorVec<double> bottom_sm{&x, &labels}, top_sm{&loss_sm};
  auto sm = make_layer<double>("name: 'sm' type: 'SoftmaxWithLoss'", ctx, bottom_sm, top_sm);
  sm->forward(ctx, bottom_sm, top_sm);
  sm->backward(ctx, top_sm, {true, false}, bottom_sm);
  EXPECT_NEAR(loss.cpu_data()[0], loss_sm.cpu_data()[0], 1e-12);
  for (int64_t i = 0; i < x.count(); ++i) EXPECT_NEAR(g[i], x.cpu_diff()[i], 1e-12) << i;
}

TEST(InfogainLoss, LossWeightScalesLossAndGradient) {
  Context ctx = Context::cpu(1);
  Tensor<double> x({2, 5, 3}), labels({2, 3}), h, loss;
  test::fill_uniform(x, -2, 2, 31);
  fill_labels(labels, 5, 32);
  fill_infogain(h, 5, 33);
  TensorVec<double> bottom{&x, &labels, &h}, top{&loss};
  auto plain = make_layer<double>(loss_text(1, ""), ctx, bottom, top);
  const double l1 = plain->forward(ctx, bottom, top);
  plain->backward(ctx, top, {true, false, false}, bottom);
  const auto g1 = to_vec(x, true);
  auto weighted = make_layer<double>(loss_text(1, "", "loss_weight: 2"), ctx, bottom, top);
  EXPECT_DOUBLE_EQ(weighted->forward(ctx, bottom, top), 2 * l1);
  EXPECT_DOUBLE_EQ(loss.cpu_data()[0], l1);
  weighted->backward(ctx, top, {true, false, false}, bottom);
  ASSERT_GT(std::fabs(g1[0]), 0.0);
  for (int64_t i = 0; i < x.count(); ++i) EXPECT_DOUBLE_EQ(x.cpu_diff()[i], 2 * g1[i]) << i;
}

TEST(InfogainLoss, GradientCheckDouble) {
  for (const Case& c : kCases) {
    for (const char* lp : {"", "normalization: FULL ignore_label: 0", "normalization: NONE"}) {
      SCOPED_TRACE(shape_string(c.scores) + " " + lp);
      Context ctx = Context::cpu(1);
      const int axis = c.axis < 0 ? c.axis + static_cast<int>(c.scores.size()) : c.axis;
      Tensor<double> x(c.scores), labels(c.labels), h, loss;
      test::fill_uniform(x, -2, 2, 41);
      fill_labels(labels, c.scores[axis], 42);
      fill_infogain(h, c.scores[axis], 43);
      TensorVec<double> bottom{&x, &labels, &h}, top{&loss};
      auto layer = make_layer<double>(loss_text(c.axis, lp, "loss_weight: 1.5"), ctx, bottom, top);
      test::GradCheck opt;
      opt.bottoms = {0};
      test::check_gradient(*layer, ctx, bottom, top, opt);
    }
  }
}

TEST(InfogainLoss, ThreadsBitwiseIdentical) {
  std::vector<std::vector<float>> out;
  for (int threads : {1, 2}) {
    Context ctx = Context::cpu(threads);
    Tensor<float> x({4, 5, 8, 8}), labels({4, 8, 8}), h, loss, prob;
    test::fill_uniform(x, -4, 4, 51);
    fill_labels(labels, 5, 52, 7, 255);
    fill_infogain(h, 5, 53);
    TensorVec<float> bottom{&x, &labels, &h}, top{&loss, &prob};
    auto layer = make_layer<float>(
        loss_text(1, "ignore_label: 255", "loss_weight: 1 loss_weight: 0"), ctx, bottom, top);
    layer->forward(ctx, bottom, top);
    layer->backward(ctx, top, {true, false, false}, bottom);
    std::vector<float> v(loss.cpu_data(), loss.cpu_data() + 1);
    v.insert(v.end(), prob.cpu_data(), prob.cpu_data() + prob.count());
    v.insert(v.end(), x.cpu_diff(), x.cpu_diff() + x.count());
    out.push_back(std::move(v));
  }
  EXPECT_TRUE(out[0] == out[1]);
}

std::string data_error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const DataError& e) {
    return e.what();
  }
  return "no DataError";
}

TEST(InfogainLoss, Errors) {
  Context ctx = Context::cpu(1);
  Tensor<float> x({2, 4, 3}), labels({2, 3}), bad_labels({2, 4}), h, h_bad({3, 3}), loss, prob;
  fill_labels(labels, 4, 61);
  fill_infogain(h, 4, 62);
  TensorVec<float> top{&loss};
  try {
    make_layer<float>(loss_text(1, ""), ctx, {&x, &bad_labels, &h}, top);
    ADD_FAILURE() << "expected ShapeError";
  } catch (const ShapeError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("2x4 (8)"), std::string::npos) << msg;
    EXPECT_NE(msg.find("2x4x3 (24)"), std::string::npos) << msg;
  }
  try {
    make_layer<float>(loss_text(1, ""), ctx, {&x, &labels, &h_bad}, top);
    ADD_FAILURE() << "expected ShapeError";
  } catch (const ShapeError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("3x3 (9)"), std::string::npos) << msg;
    EXPECT_NE(msg.find("2x4x3 (24)"), std::string::npos) << msg;
  }
  EXPECT_THROW(make_layer<float>(loss_text(3, ""), ctx, {&x, &labels, &h}, top), ShapeError);
  EXPECT_THROW(make_layer<float>(loss_text(-4, ""), ctx, {&x, &labels, &h}, top), ShapeError);
  // Without a third bottom the matrix must come from a file.
  EXPECT_THROW(make_layer<float>(loss_text(1, ""), ctx, {&x, &labels}, top), ConfigError);
  EXPECT_THROW(make_layer<float>(loss_text(1, "", "", "/nonexistent/h.binaryproto"), ctx,
                                 {&x, &labels}, top),
               DataError);
  const std::string small = write_infogain_file(h_bad, "small");
  EXPECT_THROW(make_layer<float>(loss_text(1, "", "", small), ctx, {&x, &labels}, top), ShapeError);
  EXPECT_THROW(make_layer<float>(loss_text(1, "normalize: true"), ctx, {&x, &labels, &h}, top),
               ConfigError);
  TensorVec<float> two_tops{&loss, &prob};
  EXPECT_THROW(make_layer<float>(loss_text(1, "", "loss_weight: 1 loss_weight: 1"), ctx,
                                 {&x, &labels, &h}, two_tops),
               ConfigError);

  TensorVec<float> bottom{&x, &labels, &h};
  auto layer = make_layer<float>(loss_text(1, ""), ctx, bottom, top);
  auto forward = [&] { layer->forward(ctx, bottom, top); };
  EXPECT_NO_THROW(forward());
  labels.mutable_cpu_data()[4] = 4;
  EXPECT_NE(data_error_of(forward).find("label 4 at position 4 is outside [0, 4)"),
            std::string::npos)
      << data_error_of(forward);
  labels.mutable_cpu_data()[4] = 0.5f;
  EXPECT_THROW(forward(), DataError);
  labels.mutable_cpu_data()[4] = 1;
  forward();
  EXPECT_TRUE(layer->allow_force_backward(0));
  EXPECT_FALSE(layer->allow_force_backward(1));
  EXPECT_FALSE(layer->allow_force_backward(2));
  EXPECT_THROW(layer->backward(ctx, top, {true, true, false}, bottom), ConfigError);
  EXPECT_THROW(layer->backward(ctx, top, {true, false, true}, bottom), ConfigError);
}

// Scores, labels (with `ignore`, every third the ignore_label 255) and H for the GPU check.
template <class T>
test::BottomFill<T> infogain_fill(int64_t classes, bool ignore = true) {
  return [=](size_t b, Tensor<T>& t, uint64_t seed) {
    if (b == 0)
      test::fill_uniform(t, -3, 3, seed);
    else if (b == 1)
      fill_labels(t, classes, seed, ignore ? 3 : 0, 255);
    else
      fill_infogain(t, classes, seed);
  };
}

// The softmax (exp) and the loss (log) use device math: kGpuMathTol in float.
TEST(GpuInfogainLoss, MatchesCpu) {
  CREMA_REQUIRE_GPU();
  // H as bottom 2, every normalization, with and without the probability top. One round: the
  // check grows axis 0 of every bottom, H's too.
  for (const Case& c : kCases) {
    const int axis = c.axis < 0 ? c.axis + static_cast<int>(c.scores.size()) : c.axis;
    const int64_t classes = c.scores[axis];
    for (const Mode& m : kModes) {
      for (int tops : {1, 2}) {
        const std::string text = loss_text(c.axis, m.text + " ignore_label: 255");
        SCOPED_TRACE(shape_string(c.scores) + " " + text + " tops " + std::to_string(tops));
        test::expect_gpu_matches_cpu<float>(text, {c.scores, c.labels, {classes, classes}},
                                            {.tol = test::kGpuMathTol,
                                             .num_tops = tops,
                                             .rounds = 1,
                                             .propagate_down = {true, false, false}},
                                            infogain_fill<float>(classes));
      }
    }
  }
  // H from infogain_loss_param.source, two rounds (labels keep the scores' axis 0).
  const std::vector<Case> cases = {
      {{4, 5}, 1, {4}}, {{2, 3, 4, 2}, 2, {2, 3, 2}}, {{3, 2, 4}, -1, {3, 2}}};
  for (const Case& c : cases) {
    const int axis = c.axis < 0 ? c.axis + static_cast<int>(c.scores.size()) : c.axis;
    const int64_t classes = c.scores[axis];
    Tensor<float> h;
    fill_infogain(h, classes, 71);
    const std::string source = write_infogain_file(h, "gpu_" + std::to_string(classes));
    for (bool ignore : {false, true}) {
      const std::string lp = ignore ? "normalization: FULL ignore_label: 255" : "";
      const std::string text = loss_text(c.axis, lp, "loss_weight: 0.5 loss_weight: 0", source);
      SCOPED_TRACE(shape_string(c.scores) + " " + text);
      test::expect_gpu_matches_cpu<float>(
          text, {c.scores, c.labels},
          {.tol = test::kGpuMathTol, .num_tops = 2, .propagate_down = {true, false}},
          infogain_fill<float>(classes, ignore));
    }
  }
}

TEST(GpuInfogainLoss, BadLabelSameErrorAsCpu) {
  CREMA_REQUIRE_GPU();
  Context cpu = Context::cpu(1), gpu = Context::gpu(0, 1);
  Tensor<float> x({2, 4, 3}), labels({2, 3}), h, loss;
  test::fill_uniform(x, -1, 1, 72);
  fill_labels(labels, 4, 73);
  fill_infogain(h, 4, 74);
  TensorVec<float> bottom{&x, &labels, &h}, top{&loss};
  const std::string text = loss_text(1, "ignore_label: 255");
  auto on_cpu = make_layer<float>(text, cpu, bottom, top);
  auto on_gpu = make_layer<float>(text, gpu, bottom, top);
  for (float bad : {4.0f, -1.0f, 0.5f}) {
    labels.mutable_cpu_data()[4] = bad;
    const std::string want = data_error_of([&] { on_cpu->forward(cpu, bottom, top); });
    EXPECT_NE(want.find("at position 4"), std::string::npos) << want;
    EXPECT_EQ(data_error_of([&] { on_gpu->forward(gpu, bottom, top); }), want);
  }
}

}  // namespace
}  // namespace crema
