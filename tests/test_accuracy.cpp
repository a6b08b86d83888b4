#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "tests/reference/accuracy_ref.h"
#include "tests/cuda_test_util.h"
#include "tests/test_util.h"

namespace crema {
namespace {

using test::make_layer;

std::string accuracy_text(const std::string& param) {
  return "name: 'acc' type: 'Accuracy' accuracy_param { " + param + " }";
}

template <class T>
std::vector<double> to_vec(const Tensor<T>& t) {
  return std::vector<double>(t.cpu_data(), t.cpu_data() + t.count());
}

template <class T>
void set(Tensor<T>& t, const std::vector<double>& v) {
  ASSERT_EQ(t.count(), static_cast<int64_t>(v.size()));
  for (size_t i = 0; i < v.size(); ++i) t.mutable_cpu_data()[i] = static_cast<T>(v[i]);
}

/// Accuracy and per-class accuracy of a forward pass.
struct Result {
  float accuracy;
  std::vector<float> per_class;
};

Result run(const std::string& param, Tensor<float>& x, Tensor<float>& labels) {
  Context ctx = Context::cpu(1);
  Tensor<float> acc, per_class;
  TensorVec<float> bottom{&x, &labels}, top{&acc, &per_class};
  auto layer = make_layer<float>(accuracy_text(param), ctx, bottom, top);
  EXPECT_EQ(layer->forward(ctx, bottom, top), 0.f);  // not a loss
  EXPECT_EQ(acc.num_axes(), 0);
  return {acc.cpu_data()[0],
          std::vector<float>(per_class.cpu_data(), per_class.cpu_data() + per_class.count())};
}

TEST(Accuracy, HandComputedTopOneAndTopThree) {
  Tensor<float> x({4, 5}), labels({4});
  set(x, {0.1, 0.5, 0.2, 0.9, 0.3,    // label 3: best
          0.8, 0.1, 0.7, 0.6, 0.0,    // label 2: second
          0.2, 0.4, 0.9, 0.8, 0.7,    // label 0: last
          0.5, 0.6, 0.7, 0.8, 0.9});  // label 2: third
  set(labels, {3, 2, 0, 2});
  const Result top1 = run("", x, labels);
  EXPECT_FLOAT_EQ(top1.accuracy, 0.25f);
  EXPECT_EQ(top1.per_class, (std::vector<float>{0, 0, 0, 1, 0}));
  const Result top3 = run("top_k: 3", x, labels);
  EXPECT_FLOAT_EQ(top3.accuracy, 0.75f);
  EXPECT_EQ(top3.per_class, (std::vector<float>{0, 0, 1, 1, 0}));
  const Result top5 = run("top_k: 5", x, labels);
  EXPECT_FLOAT_EQ(top5.accuracy, 1.f);
  // Ignoring label 2 leaves rows 0 and 2.
  const Result ignored = run("top_k: 3 ignore_label: 2", x, labels);
  EXPECT_FLOAT_EQ(ignored.accuracy, 0.5f);
  EXPECT_EQ(ignored.per_class, (std::vector<float>{0, 0, 0, 1, 0}));
}

TEST(Accuracy, HandComputedSpatialAxis) {
  // N=1, C=3, W=2 with class axis 1: labels index positions along the last axis.
  Tensor<float> x({1, 3, 2}), labels({1, 2});
  set(x, {0.1, 0.7,     // class 0 at w=0, w=1
          0.6, 0.2,     // class 1
          0.3, 0.1});   // class 2
  set(labels, {1, 2});  // w=0: class 1 is best (hit); w=1: class 2 is last (miss)
  EXPECT_FLOAT_EQ(run("", x, labels).accuracy, 0.5f);
  EXPECT_FLOAT_EQ(run("top_k: 2", x, labels).accuracy, 0.5f);
  EXPECT_FLOAT_EQ(run("top_k: 3", x, labels).accuracy, 1.f);
}

TEST(Accuracy, TiesCountAgainstTheLabelAsInCaffe) {
  Tensor<float> x({2, 3}), labels({2});
  set(x, {0.5, 0.5, 0.1, 0.2, 0.2, 0.2});
  set(labels, {0, 2});
  EXPECT_FLOAT_EQ(run("", x, labels).accuracy, 0.f);
  // Row 0: one class ties label 0, so top 2 holds it; row 1: two tie label 2, so top 3 does.
  EXPECT_FLOAT_EQ(run("top_k: 2", x, labels).accuracy, 0.5f);
  EXPECT_FLOAT_EQ(run("top_k: 3", x, labels).accuracy, 1.f);
}

TEST(Accuracy, NaNScores) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  Tensor<float> x({2, 3}), labels({2});
  set(x, {nan, 0.2, 0.1,    // another class is NaN: it ranks above the label
          0.3, nan, 0.1});  // the label's score is NaN: never a hit
  set(labels, {1, 1});
  EXPECT_FLOAT_EQ(run("", x, labels).accuracy, 0.f);
  EXPECT_FLOAT_EQ(run("top_k: 2", x, labels).accuracy, 0.5f);
  EXPECT_FLOAT_EQ(run("top_k: 3", x, labels).accuracy, 0.5f);
}

TEST(Accuracy, AllIgnoredGivesZero) {
  Tensor<float> x({3, 4}), labels({3});
  test::fill_uniform(x, 0, 1, 1);
  labels.set_data(-1);
  const Result r = run("ignore_label: -1", x, labels);
  EXPECT_EQ(r.accuracy, 0.f);
  EXPECT_EQ(r.per_class, (std::vector<float>(4, 0.f)));
}

template <class T>
void check_against_reference(const std::vector<int64_t>& shape, int axis, int64_t top_k,
                             bool has_ignore, bool integer_scores, uint64_t seed) {
  SCOPED_TRACE(shape_string(shape) + " axis " + std::to_string(axis) + " top_k " +
               std::to_string(top_k) + (has_ignore ? " ignore" : "") +
               (integer_scores ? " ties" : ""));
  Context ctx = Context::cpu(1);
  const int a = axis < 0 ? axis + static_cast<int>(shape.size()) : axis;
  std::vector<int64_t> label_shape = shape;
  label_shape.erase(label_shape.begin() + a);
  Tensor<T> x(shape), labels(label_shape), acc, per_class;
  std::mt19937_64 gen(seed);
  std::uniform_int_distribution<int> cls(0, static_cast<int>(shape[a]) - 1), small(0, 2);
  test::fill_uniform(x, -1, 1, seed + 1);
  if (integer_scores)
    for (int64_t i = 0; i < x.count(); ++i) x.mutable_cpu_data()[i] = static_cast<T>(small(gen));
  for (int64_t i = 0; i < labels.count(); ++i)
    labels.mutable_cpu_data()[i] = static_cast<T>(has_ignore && i % 4 == 0 ? 255 : cls(gen));
  std::string param = "axis: " + std::to_string(axis) + " top_k: " + std::to_string(top_k);
  if (has_ignore) param += " ignore_label: 255";
  TensorVec<T> bottom{&x, &labels}, top{&acc, &per_class};
  auto layer = make_layer<T>(accuracy_text(param), ctx, bottom, top);
  layer->forward(ctx, bottom, top);
  const auto want = ref::accuracy(to_vec(x), to_vec(labels), shape, a, top_k, has_ignore, 255);
  EXPECT_NEAR(acc.cpu_data()[0], want.accuracy, 1e-6);
  ASSERT_EQ(per_class.count(), shape[a]);
  for (int64_t c = 0; c < shape[a]; ++c)
    EXPECT_NEAR(per_class.cpu_data()[c], want.per_class[c], 1e-6) << "class " << c;
}

TEST(Accuracy, MatchesReference) {
  uint64_t seed = 100;
  for (int64_t top_k : {1, 3}) {
    for (bool ignore : {false, true}) {
      for (bool ties : {false, true}) {
        check_against_reference<float>({16, 6}, 1, top_k, ignore, ties, ++seed);
        check_against_reference<double>({3, 5, 4, 3}, 1, top_k, ignore, ties, ++seed);
        check_against_reference<float>({2, 3, 7, 4}, 2, top_k, ignore, ties, ++seed);
        check_against_reference<double>({2, 3, 4, 5}, -1, top_k, ignore, ties, ++seed);
      }
    }
  }
}

TEST(Accuracy, ThreadsBitwiseIdentical) {
  // 4 * 32 * 32 = 4096 positions: enough work items for parallel_for to use the threads.
  std::vector<std::vector<float>> out;
  for (int threads : {1, 2}) {
    Context ctx = Context::cpu(threads);
    Tensor<float> x({4, 10, 32, 32}), labels({4, 32, 32}), acc, per_class;
    test::fill_uniform(x, 0, 1, 9);
    std::mt19937_64 gen(10);
    for (int64_t i = 0; i < labels.count(); ++i)
      labels.mutable_cpu_data()[i] = static_cast<float>(gen() % 10);
    TensorVec<float> bottom{&x, &labels}, top{&acc, &per_class};
    auto layer = make_layer<float>(accuracy_text("top_k: 3"), ctx, bottom, top);
    layer->forward(ctx, bottom, top);
    std::vector<float> v(acc.cpu_data(), acc.cpu_data() + 1);
    v.insert(v.end(), per_class.cpu_data(), per_class.cpu_data() + per_class.count());
    out.push_back(std::move(v));
  }
  EXPECT_GT(out[0][0], 0.f);
  EXPECT_TRUE(out[0] == out[1]);
}

TEST(Accuracy, Errors) {
  Context ctx = Context::cpu(1);
  Tensor<float> x({2, 5, 4, 4}), labels({2, 4, 4}), acc;
  test::fill_uniform(x, 0, 1, 11);
  for (int64_t i = 0; i < labels.count(); ++i) labels.mutable_cpu_data()[i] = i % 5;
  TensorVec<float> bottom{&x, &labels}, top{&acc};

  EXPECT_THROW(make_layer<float>(accuracy_text("top_k: 6"), ctx, bottom, top), ConfigError);
  EXPECT_THROW(make_layer<float>(accuracy_text("top_k: 0"), ctx, bottom, top), ConfigError);
  EXPECT_NO_THROW(make_layer<float>(accuracy_text("top_k: 5"), ctx, bottom, top));
  EXPECT_THROW(make_layer<float>(accuracy_text("axis: 4"), ctx, bottom, top), ConfigError);
  EXPECT_THROW(make_layer<float>(accuracy_text("axis: -5"), ctx, bottom, top), ConfigError);
  // Class axis 2 needs 2*5*4 = 40 labels, not 32.
  try {
    make_layer<float>(accuracy_text("axis: 2"), ctx, bottom, top);
    ADD_FAILURE() << "no error for 32 labels";
  } catch (const ShapeError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("2x4x4 (32)"), std::string::npos) << msg;
    EXPECT_NE(msg.find("2x5x4x4 (160)"), std::string::npos) << msg;
  }

  auto layer = make_layer<float>(accuracy_text(""), ctx, bottom, top);
  EXPECT_FALSE(layer->allow_force_backward(0));
  EXPECT_FALSE(layer->allow_force_backward(1));
  labels.mutable_cpu_data()[12] = 7;
  labels.mutable_cpu_data()[20] = 9;
  try {
    layer->forward(ctx, bottom, top);
    ADD_FAILURE() << "no error for label 7";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("label 7 at position 12 is outside [0, 5)"),
              std::string::npos)
        << e.what();
  }
  labels.mutable_cpu_data()[12] = 2;
  labels.mutable_cpu_data()[20] = 2;
  layer->forward(ctx, bottom, top);
  EXPECT_NO_THROW(layer->backward(ctx, top, {false, false}, bottom));
  EXPECT_THROW(layer->backward(ctx, top, {true, false}, bottom), ConfigError);
  EXPECT_THROW(layer->backward(ctx, top, {false, true}, bottom), ConfigError);
}

// The GPU path (hit and label per position on the device, counts on the host) against the CPU,
// top-1 and top-3, with ties and ignored labels: bitwise (comparisons only).
TEST(GpuAccuracy, LayerMatchesCpu) {
  CREMA_REQUIRE_GPU();
  for (const char* param : {"top_k: 1", "top_k: 3 ignore_label: 2"}) {
    SCOPED_TRACE(param);
    std::vector<std::vector<float>> out;
    for (bool gpu : {false, true}) {
      Context ctx = gpu ? Context::gpu(0, 1) : Context::cpu(1);
      Tensor<float> x({8, 5, 3, 3}), labels({8, 3, 3}), acc, per_class;
      test::fill_uniform(x, -1, 1, 111);
      for (int64_t i = 0; i < x.count(); i += 7) x.mutable_cpu_data()[i] = 0.5f;  // ties
      for (int64_t i = 0; i < labels.count(); ++i) labels.mutable_cpu_data()[i] = i % 5;
      TensorVec<float> bottom{&x, &labels}, top{&acc, &per_class};
      auto layer = make_layer<float>(accuracy_text(param), ctx, bottom, top);
      layer->forward(ctx, bottom, top);
      out.push_back({acc.cpu_data()[0]});
      out.back().insert(out.back().end(), per_class.cpu_data(),
                        per_class.cpu_data() + per_class.count());
    }
    EXPECT_EQ(out[0], out[1]);
  }
}

}  // namespace
}  // namespace crema
