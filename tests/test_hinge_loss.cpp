#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "tests/gpu_compare.h"
#include "tests/reference/hinge_loss_ref.h"
#include "tests/test_util.h"

namespace crema {
namespace {

using test::make_layer;

std::string loss_text(bool l2, const std::string& extra = "") {
  return std::string("name: 'loss' type: 'HingeLoss' hinge_loss_param { norm: ") +
         (l2 ? "L2" : "L1") + " } " + extra;
}

template <class T>
std::vector<double> to_vec(const Tensor<T>& t, bool diff = false) {
  const T* p = diff ? t.cpu_diff() : t.cpu_data();
  return std::vector<double>(p, p + t.count());
}

/// Scores with |x| in [0, 0.8] or [1.2, 2]: at least 0.2 from the hinge kinks at x = +-1.
template <class T>
void fill_scores(Tensor<T>& x, uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<double> near(0, 0.8), far(1.2, 2);
  std::bernoulli_distribution coin(0.5);
  for (int64_t i = 0; i < x.count(); ++i) {
    const double m = coin(gen) ? near(gen) : far(gen);
    x.mutable_cpu_data()[i] = static_cast<T>(coin(gen) ? m : -m);
  }
}

template <class T>
void fill_labels(Tensor<T>& labels, int64_t classes, uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::uniform_int_distribution<int64_t> cls(0, classes - 1);
  for (int64_t i = 0; i < labels.count(); ++i)
    labels.mutable_cpu_data()[i] = static_cast<T>(cls(gen));
}

template <class T>
void check_against_reference(const std::vector<int64_t>& shape, bool l2, double tol) {
  SCOPED_TRACE(shape_string(shape) + (l2 ? " L2" : " L1"));
  Context ctx = Context::cpu(1);
  Tensor<T> x(shape), labels({shape[0]}), loss;
  fill_scores(x, 1);
  fill_labels(labels, x.count() / shape[0], 2);
  TensorVec<T> bottom{&x, &labels}, top{&loss};
  auto layer = make_layer<T>(loss_text(l2), ctx, bottom, top);
  const T returned = layer->forward(ctx, bottom, top);
  ASSERT_EQ(loss.num_axes(), 0);
  const auto want = ref::hinge_loss(to_vec(x), to_vec(labels), l2);
  EXPECT_NEAR(loss.cpu_data()[0], want.loss, tol * std::max(1.0, want.loss));
  EXPECT_EQ(returned, loss.cpu_data()[0]);
  x.set_diff(T(7));
  layer->backward(ctx, top, {true, false}, bottom);
  const std::vector<T> g(want.grad.begin(), want.grad.end());
  test::expect_near(x.cpu_diff(), g.data(), x.count(), tol, "scores diff");
}

TEST(HingeLoss, ForwardBackwardMatchReference) {
  for (bool l2 : {false, true}) {
    check_against_reference<double>({5, 4}, l2, 1e-12);
    check_against_reference<double>({3, 4, 2, 1}, l2, 1e-12);
    check_against_reference<float>({7, 3}, l2, 1e-5);
    check_against_reference<float>({1, 10}, l2, 1e-5);
  }
}

TEST(HingeLoss, DefaultNormIsL1) {
  Context ctx = Context::cpu(1);
  Tensor<double> x({1, 3}), labels({1}), loss;
  const double v[] = {0.5, -2, 0.25};
  std::copy(v, v + 3, x.mutable_cpu_data());
  labels.mutable_cpu_data()[0] = 0;
  TensorVec<double> bottom{&x, &labels}, top{&loss};
  auto layer = make_layer<double>("name: 'l' type: 'HingeLoss'", ctx, bottom, top);
  layer->forward(ctx, bottom, top);
  EXPECT_DOUBLE_EQ(loss.cpu_data()[0], 0.5 + 0 + 1.25);
}

TEST(HingeLoss, LossWeightScalesLossAndGradient) {
  for (bool l2 : {false, true}) {
    Context ctx = Context::cpu(1);
    Tensor<double> x({4, 5}), labels({4}), loss;
    fill_scores(x, 3);
    fill_labels(labels, 5, 4);
    TensorVec<double> bottom{&x, &labels}, top{&loss};
    auto plain = make_layer<double>(loss_text(l2), ctx, bottom, top);
    const double l1 = plain->forward(ctx, bottom, top);
    plain->backward(ctx, top, {true, false}, bottom);
    const auto g1 = to_vec(x, true);
    auto weighted = make_layer<double>(loss_text(l2, "loss_weight: 2"), ctx, bottom, top);
    EXPECT_DOUBLE_EQ(weighted->forward(ctx, bottom, top), 2 * l1);
    EXPECT_DOUBLE_EQ(loss.cpu_data()[0], l1);
    weighted->backward(ctx, top, {true, false}, bottom);
    for (int64_t i = 0; i < x.count(); ++i) EXPECT_DOUBLE_EQ(x.cpu_diff()[i], 2 * g1[i]) << i;
  }
}

TEST(HingeLoss, GradientCheckDouble) {
  for (bool l2 : {false, true}) {
    SCOPED_TRACE(l2 ? "L2" : "L1");
    Context ctx = Context::cpu(1);
    Tensor<double> x({4, 3}), labels({4, 1}), loss;
    fill_scores(x, 5);
    fill_labels(labels, 3, 6);
    TensorVec<double> bottom{&x, &labels}, top{&loss};
    auto layer = make_layer<double>(loss_text(l2, "loss_weight: 1.5"), ctx, bottom, top);
    test::GradCheck opt;
    opt.bottoms = {0};
    test::check_gradient(*layer, ctx, bottom, top, opt);
  }
}

TEST(HingeLoss, ThreadsBitwiseIdentical) {
  std::vector<std::vector<float>> out;
  for (int threads : {1, 2}) {
    Context ctx = Context::cpu(threads);
    Tensor<float> x({512, 6}), labels({512}), loss;
    fill_scores(x, 7);
    fill_labels(labels, 6, 8);
    TensorVec<float> bottom{&x, &labels}, top{&loss};
    auto layer = make_layer<float>(loss_text(true), ctx, bottom, top);
    layer->forward(ctx, bottom, top);
    layer->backward(ctx, top, {true, false}, bottom);
    std::vector<float> v(loss.cpu_data(), loss.cpu_data() + 1);
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

TEST(HingeLoss, Errors) {
  Context ctx = Context::cpu(1);
  Tensor<float> x({4, 3}), labels({4}), bad_labels({3}), loss;
  fill_labels(labels, 3, 9);
  TensorVec<float> top{&loss};
  try {
    make_layer<float>(loss_text(false), ctx, {&x, &bad_labels}, top);
    ADD_FAILURE() << "expected ShapeError";
  } catch (const ShapeError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("3 (3)"), std::string::npos) << msg;
    EXPECT_NE(msg.find("4x3 (12)"), std::string::npos) << msg;
  }
  TensorVec<float> bottom{&x, &labels};
  auto layer = make_layer<float>(loss_text(false), ctx, bottom, top);
  auto forward = [&] { layer->forward(ctx, bottom, top); };
  EXPECT_NO_THROW(forward());
  labels.mutable_cpu_data()[2] = 3;
  EXPECT_NE(data_error_of(forward).find("label 3 at position 2 is outside [0, 3)"),
            std::string::npos)
      << data_error_of(forward);
  labels.mutable_cpu_data()[2] = -1;
  EXPECT_THROW(forward(), DataError);
  labels.mutable_cpu_data()[2] = 1.5f;
  EXPECT_NE(data_error_of(forward).find("is not an integer"), std::string::npos);
  labels.mutable_cpu_data()[2] = 0;
  forward();
  EXPECT_FALSE(layer->allow_force_backward(1));
  EXPECT_THROW(layer->backward(ctx, top, {true, true}, bottom), ConfigError);
}

// Scores away from the kinks and labels of `classes` classes, for the GPU check.
template <class T>
test::BottomFill<T> scores_and_labels(int64_t classes) {
  return [=](size_t b, Tensor<T>& t, uint64_t seed) {
    if (b == 0)
      fill_scores(t, seed);
    else
      fill_labels(t, classes, seed);
  };
}

TEST(GpuHingeLoss, MatchesCpu) {
  CREMA_REQUIRE_GPU();
  for (bool l2 : {false, true}) {
    SCOPED_TRACE(loss_text(l2));
    // L1 adds hinge values and scales once per element: bitwise. L2 sums squares, which nvcc
    // may fuse into multiply-adds.
    const double tol = l2 ? test::kGpuMathTol : 0.0;
    test::expect_gpu_matches_cpu<float>(
        loss_text(l2), {{5, 4}, {5}}, {.tol = tol, .num_tops = 1, .propagate_down = {true, false}},
        scores_and_labels<float>(4));
    test::expect_gpu_matches_cpu<float>(
        loss_text(l2, "loss_weight: 2"), {{3, 2, 3}, {3, 1}},
        {.tol = tol, .num_tops = 1, .propagate_down = {true, false}}, scores_and_labels<float>(6));
  }
}

TEST(GpuHingeLoss, BadLabelSameErrorAsCpu) {
  CREMA_REQUIRE_GPU();
  Context cpu = Context::cpu(1), gpu = Context::gpu(0, 1);
  Tensor<float> x({4, 3}), labels({4}), loss;
  fill_scores(x, 10);
  fill_labels(labels, 3, 11);
  TensorVec<float> bottom{&x, &labels}, top{&loss};
  auto on_cpu = make_layer<float>(loss_text(false), cpu, bottom, top);
  auto on_gpu = make_layer<float>(loss_text(false), gpu, bottom, top);
  for (float bad : {3.0f, -1.0f, 1.5f}) {
    labels.mutable_cpu_data()[2] = bad;
    const std::string want = data_error_of([&] { on_cpu->forward(cpu, bottom, top); });
    EXPECT_NE(want.find("at position 2"), std::string::npos) << want;
    EXPECT_EQ(data_error_of([&] { on_gpu->forward(gpu, bottom, top); }), want);
  }
}

}  // namespace
}  // namespace crema
