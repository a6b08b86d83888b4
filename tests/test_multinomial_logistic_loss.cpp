#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "tests/gpu_compare.h"
#include "tests/reference/multinomial_logistic_loss_ref.h"
#include "tests/test_util.h"

namespace crema {
namespace {

using test::make_layer;

std::string loss_text(const std::string& extra = "") {
  return "name: 'loss' type: 'MultinomialLogisticLoss' " + extra;
}

template <class T>
std::vector<double> to_vec(const Tensor<T>& t, bool diff = false) {
  const T* p = diff ? t.cpu_diff() : t.cpu_data();
  return std::vector<double>(p, p + t.count());
}

template <class T>
void fill_labels(Tensor<T>& labels, int64_t classes, uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::uniform_int_distribution<int64_t> cls(0, classes - 1);
  for (int64_t i = 0; i < labels.count(); ++i)
    labels.mutable_cpu_data()[i] = static_cast<T>(cls(gen));
}

template <class T>
void check_against_reference(const std::vector<int64_t>& shape, double tol, bool with_zero) {
  SCOPED_TRACE(shape_string(shape) + (with_zero ? " with a zero probability" : ""));
  Context ctx = Context::cpu(1);
  Tensor<T> p(shape), labels({shape[0], 1, 1, 1}), loss;
  test::fill_uniform(p, 0.05, 1, 1);
  fill_labels(labels, p.count() / shape[0], 2);
  // A zero probability at a true class: the log is clamped at 1e-20 as in Caffe.
  if (with_zero) p.mutable_cpu_data()[static_cast<int64_t>(labels.cpu_data()[0])] = 0;
  TensorVec<T> bottom{&p, &labels}, top{&loss};
  auto layer = make_layer<T>(loss_text(), ctx, bottom, top);
  const T returned = layer->forward(ctx, bottom, top);
  ASSERT_EQ(loss.num_axes(), 0);
  const auto want = ref::multinomial_logistic_loss(to_vec(p), to_vec(labels));
  EXPECT_NEAR(loss.cpu_data()[0], want.loss, tol * std::max(1.0, want.loss));
  EXPECT_EQ(returned, loss.cpu_data()[0]);
  p.set_diff(T(7));
  layer->backward(ctx, top, {true, false}, bottom);
  const std::vector<T> g(want.grad.begin(), want.grad.end());
  test::expect_near(p.cpu_diff(), g.data(), p.count(), tol, "prob diff");
}

TEST(MultinomialLogisticLoss, ForwardBackwardMatchReference) {
  for (bool with_zero : {false, true}) {
    check_against_reference<double>({5, 4}, 1e-12, with_zero);
    check_against_reference<double>({3, 6, 1, 1}, 1e-12, with_zero);
    check_against_reference<float>({7, 3}, 1e-5, with_zero);
  }
}

TEST(MultinomialLogisticLoss, ClampedLogOfZero) {
  Context ctx = Context::cpu(1);
  Tensor<double> p({1, 2}), labels({1}), loss;
  p.mutable_cpu_data()[0] = 0, p.mutable_cpu_data()[1] = 1;
  labels.mutable_cpu_data()[0] = 0;
  TensorVec<double> bottom{&p, &labels}, top{&loss};
  auto layer = make_layer<double>(loss_text(), ctx, bottom, top);
  layer->forward(ctx, bottom, top);
  EXPECT_NEAR(loss.cpu_data()[0], -std::log(1e-20), 1e-9);
}

TEST(MultinomialLogisticLoss, LossWeightScalesLossAndGradient) {
  Context ctx = Context::cpu(1);
  Tensor<double> p({4, 5}), labels({4}), loss;
  test::fill_uniform(p, 0.1, 1, 3);
  fill_labels(labels, 5, 4);
  TensorVec<double> bottom{&p, &labels}, top{&loss};
  auto plain = make_layer<double>(loss_text(), ctx, bottom, top);
  const double l1 = plain->forward(ctx, bottom, top);
  plain->backward(ctx, top, {true, false}, bottom);
  const auto g1 = to_vec(p, true);
  auto weighted = make_layer<double>(loss_text("loss_weight: 2"), ctx, bottom, top);
  EXPECT_DOUBLE_EQ(weighted->forward(ctx, bottom, top), 2 * l1);
  EXPECT_DOUBLE_EQ(loss.cpu_data()[0], l1);
  weighted->backward(ctx, top, {true, false}, bottom);
  for (int64_t i = 0; i < p.count(); ++i) EXPECT_DOUBLE_EQ(p.cpu_diff()[i], 2 * g1[i]) << i;
}

TEST(MultinomialLogisticLoss, GradientCheckDouble) {
  Context ctx = Context::cpu(1);
  Tensor<double> p({4, 3}), labels({4}), loss;
  test::fill_uniform(p, 0.1, 1, 5);
  fill_labels(labels, 3, 6);
  TensorVec<double> bottom{&p, &labels}, top{&loss};
  auto layer = make_layer<double>(loss_text("loss_weight: 0.5"), ctx, bottom, top);
  test::GradCheck opt;
  opt.bottoms = {0};
  test::check_gradient(*layer, ctx, bottom, top, opt);
}

TEST(MultinomialLogisticLoss, ThreadsBitwiseIdentical) {
  std::vector<std::vector<float>> out;
  for (int threads : {1, 2}) {
    Context ctx = Context::cpu(threads);
    Tensor<float> p({512, 6}), labels({512}), loss;
    test::fill_uniform(p, 0.01, 1, 7);
    fill_labels(labels, 6, 8);
    TensorVec<float> bottom{&p, &labels}, top{&loss};
    auto layer = make_layer<float>(loss_text(), ctx, bottom, top);
    layer->forward(ctx, bottom, top);
    layer->backward(ctx, top, {true, false}, bottom);
    std::vector<float> v(loss.cpu_data(), loss.cpu_data() + 1);
    v.insert(v.end(), p.cpu_diff(), p.cpu_diff() + p.count());
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

TEST(MultinomialLogisticLoss, Errors) {
  Context ctx = Context::cpu(1);
  Tensor<float> p({4, 3}), labels({4}), bad_labels({2, 4}), loss;
  test::fill_uniform(p, 0.1, 1, 9);
  fill_labels(labels, 3, 10);
  TensorVec<float> top{&loss};
  try {
    make_layer<float>(loss_text(), ctx, {&p, &bad_labels}, top);
    ADD_FAILURE() << "expected ShapeError";
  } catch (const ShapeError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("2x4 (8)"), std::string::npos) << msg;
    EXPECT_NE(msg.find("4x3 (12)"), std::string::npos) << msg;
  }
  TensorVec<float> bottom{&p, &labels};
  auto layer = make_layer<float>(loss_text(), ctx, bottom, top);
  auto forward = [&] { layer->forward(ctx, bottom, top); };
  EXPECT_NO_THROW(forward());
  labels.mutable_cpu_data()[1] = 3;
  EXPECT_NE(data_error_of(forward).find("label 3 at position 1 is outside [0, 3)"),
            std::string::npos)
      << data_error_of(forward);
  labels.mutable_cpu_data()[1] = -2;
  EXPECT_THROW(forward(), DataError);
  labels.mutable_cpu_data()[1] = 2;
  forward();
  EXPECT_FALSE(layer->allow_force_backward(1));
  EXPECT_THROW(layer->backward(ctx, top, {true, true}, bottom), ConfigError);
}

// Probabilities in [0.01, 1) with a zero at the first sample's true class (the clamped log),
// and labels of `classes` classes, for the GPU check.
template <class T>
test::BottomFill<T> prob_and_labels(int64_t classes) {
  return [=](size_t b, Tensor<T>& t, uint64_t seed) {
    if (b == 1) {
      fill_labels(t, classes, seed);
      return;
    }
    test::fill_uniform(t, 0.01, 1, seed);
    Tensor<T> labels({t.shape(0)});
    fill_labels(labels, classes, seed + 1);
    t.mutable_cpu_data()[static_cast<int64_t>(labels.cpu_data()[0])] = T(0);
  };
}

TEST(GpuMultinomialLogisticLoss, MatchesCpu) {
  CREMA_REQUIRE_GPU();
  // The loss takes a log (device math); the gradient is one division per element.
  test::expect_gpu_matches_cpu<float>(
      loss_text(), {{5, 4}, {5}},
      {.tol = test::kGpuMathTol, .num_tops = 1, .propagate_down = {true, false}},
      prob_and_labels<float>(4));
  test::expect_gpu_matches_cpu<float>(
      loss_text("loss_weight: 0.5"), {{3, 6, 1, 1}, {3, 1, 1, 1}},
      {.tol = test::kGpuMathTol, .num_tops = 1, .propagate_down = {true, false}},
      prob_and_labels<float>(6));
}

TEST(GpuMultinomialLogisticLoss, BadLabelSameErrorAsCpu) {
  CREMA_REQUIRE_GPU();
  Context cpu = Context::cpu(1), gpu = Context::gpu(0, 1);
  Tensor<float> p({4, 3}), labels({4}), loss;
  test::fill_uniform(p, 0.1, 1, 11);
  fill_labels(labels, 3, 12);
  TensorVec<float> bottom{&p, &labels}, top{&loss};
  auto on_cpu = make_layer<float>(loss_text(), cpu, bottom, top);
  auto on_gpu = make_layer<float>(loss_text(), gpu, bottom, top);
  for (float bad : {3.0f, -2.0f, 0.25f}) {
    labels.mutable_cpu_data()[1] = bad;
    const std::string want = data_error_of([&] { on_cpu->forward(cpu, bottom, top); });
    EXPECT_NE(want.find("at position 1"), std::string::npos) << want;
    EXPECT_EQ(data_error_of([&] { on_gpu->forward(gpu, bottom, top); }), want);
  }
}

}  // namespace
}  // namespace crema
