#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "ops/inner_product_layer.h"
#include "tests/cuda_test_util.h"
#include "tests/gpu_compare.h"
#include "tests/reference/inner_product_ref.h"
#include "tests/test_util.h"

namespace crema {
namespace {

using test::check_gradient;
using test::fill_uniform;
using test::make_layer;

std::string ip_text(const std::string& params) {
  return "name: 'ip' type: 'InnerProduct' inner_product_param { " + params +
         " weight_filler { type: 'uniform' min: -1 max: 1 }"
         " bias_filler { type: 'uniform' min: -1 max: 1 } }";
}

struct IpCase {
  std::string params;
  std::vector<int64_t> shape;  // bottom
  int64_t rows, k, n;
  bool transpose, bias;
  std::vector<int64_t> expect_top;
};

std::vector<IpCase> ip_cases() {
  return {
      {"num_output: 5", {2, 3, 2, 2}, 2, 12, 5, false, true, {2, 5}},
      {"num_output: 4 axis: 2", {2, 3, 4}, 6, 4, 4, false, true, {2, 3, 4}},
      {"num_output: 3 axis: 2 transpose: true", {2, 3, 2, 2}, 6, 4, 3, true, true, {2, 3, 3}},
      {"num_output: 3 axis: -1", {2, 2, 5}, 4, 5, 3, false, true, {2, 2, 3}},
      {"num_output: 4 axis: 0 transpose: true bias_term: false", {3, 2}, 1, 6, 4, true, false, {4}},
      {"num_output: 2 bias_term: false", {3, 7}, 3, 7, 2, false, false, {3, 2}},
  };
}

template <class T>
void check_forward(const IpCase& c, double tol) {
  SCOPED_TRACE(c.params);
  Context ctx = Context::cpu(1);
  Tensor<T> x(c.shape), y;
  fill_uniform(x, -1, 1, 5);
  TensorVec<T> bottom{&x}, top{&y};
  auto layer = make_layer<T>(ip_text(c.params), ctx, bottom, top);
  ASSERT_EQ(layer->blobs().size(), c.bias ? 2u : 1u);
  const std::vector<int64_t> weight_shape =
      c.transpose ? std::vector<int64_t>{c.k, c.n} : std::vector<int64_t>{c.n, c.k};
  EXPECT_EQ(layer->blobs()[0]->shape(), weight_shape);
  layer->forward(ctx, bottom, top);
  ASSERT_EQ(y.shape(), c.expect_top);
  const auto want =
      ref::inner_product(x.cpu_data(), c.rows, c.k, layer->blobs()[0]->cpu_data(),
                         c.bias ? layer->blobs()[1]->cpu_data() : nullptr, c.n, c.transpose);
  std::vector<T> want_t(want.begin(), want.end());
  test::expect_near(y.cpu_data(), want_t.data(), y.count(), tol, "top");
}

TEST(InnerProduct, ForwardMatchesNaiveReferenceDouble) {
  for (const auto& c : ip_cases()) check_forward<double>(c, 1e-12);
}

TEST(InnerProduct, ForwardMatchesNaiveReferenceFloat) {
  for (const auto& c : ip_cases()) check_forward<float>(c, 1e-5);
}

TEST(InnerProduct, GradientDouble) {
  for (const auto& c : ip_cases()) {
    SCOPED_TRACE(c.params);
    Context ctx = Context::cpu(1);
    Tensor<double> x(c.shape), y;
    fill_uniform(x, -1, 1, 9);
    TensorVec<double> bottom{&x}, top{&y};
    auto layer = make_layer<double>(ip_text(c.params), ctx, bottom, top);
    check_gradient(*layer, ctx, bottom, top);
  }
}

// Backward adds to parameter diffs (the net zeroes them once per iteration): a second backward
// doubles them.
TEST(InnerProduct, ParameterDiffsAccumulate) {
  for (const auto& c : ip_cases()) {
    SCOPED_TRACE(c.params);
    Context ctx = Context::cpu(1);
    Tensor<double> x(c.shape), y;
    fill_uniform(x, -1, 1, 3);
    TensorVec<double> bottom{&x}, top{&y};
    auto layer = make_layer<double>(ip_text(c.params), ctx, bottom, top);
    layer->forward(ctx, bottom, top);
    fill_uniform(y, -1, 1, 4);
    std::copy(y.cpu_data(), y.cpu_data() + y.count(), y.mutable_cpu_diff());
    for (auto& p : layer->blobs()) p->set_diff(0.0);
    layer->backward(ctx, top, {true}, bottom);
    std::vector<std::vector<double>> once;
    for (auto& p : layer->blobs()) {
      once.emplace_back(p->cpu_diff(), p->cpu_diff() + p->count());
      for (double& v : once.back()) v *= 2;
    }
    layer->backward(ctx, top, {true}, bottom);
    for (size_t i = 0; i < once.size(); ++i)
      test::expect_near(layer->blobs()[i]->cpu_diff(), once[i].data(), layer->blobs()[i]->count(),
                        1e-12, "param diff");
  }
}

// The flattened size may change nowhere but the axes before `axis`.
TEST(InnerProduct, ReshapeKeepsKAndFollowsBatch) {
  Context ctx = Context::cpu(1);
  Tensor<float> x({2, 3, 4}), y;
  TensorVec<float> bottom{&x}, top{&y};
  auto layer = make_layer<float>(ip_text("num_output: 5"), ctx, bottom, top);
  x.reshape({6, 12});  // same K = 12
  layer->forward(ctx, bottom, top);
  EXPECT_EQ(y.shape(), (std::vector<int64_t>{6, 5}));
  x.reshape({2, 3, 5});
  std::string msg;
  try {
    layer->forward(ctx, bottom, top);
  } catch (const ShapeError& e) {
    msg = e.what();
  }
  EXPECT_NE(msg.find("K=15"), std::string::npos) << msg;
  EXPECT_NE(msg.find("expect K=12"), std::string::npos) << msg;
}

TEST(InnerProduct, ErrorsThrow) {
  Context ctx = Context::cpu(1);
  Tensor<float> x({2, 3}), y;
  TensorVec<float> bottom{&x}, top{&y};
  EXPECT_THROW(make_layer<float>(ip_text("num_output: 0"), ctx, bottom, top), ConfigError);
  EXPECT_THROW(make_layer<float>(ip_text("bias_term: true"), ctx, bottom, top), ConfigError);
  EXPECT_THROW(make_layer<float>(ip_text("num_output: 2 axis: 2"), ctx, bottom, top), ShapeError);
  EXPECT_THROW(make_layer<float>(ip_text("num_output: 2 axis: -3"), ctx, bottom, top), ShapeError);
  Tensor<float> empty({2, 0}), y2;
  TensorVec<float> empty_bottom{&empty};
  EXPECT_THROW(make_layer<float>(ip_text("num_output: 2"), ctx, empty_bottom, top), ShapeError);
  TensorVec<float> two_bottoms{&x, &empty};
  EXPECT_THROW(make_layer<float>(ip_text("num_output: 2"), ctx, two_bottoms, top), ConfigError);
}

// The cuBLAS path against the CPU path on every case (plain, axis, transpose, no bias): forward,
// bottom diff and accumulated parameter diffs, 1e-4 relative in float and 1e-10 in double (GEMM
// summation order differs). Cases flattening from axis 0 keep their batch (K would change).
TEST(GpuInnerProduct, LayerMatchesCpu) {
  CREMA_REQUIRE_GPU();
#if CREMA_WITH_CUDA
  for (const auto& c : ip_cases()) {
    SCOPED_TRACE(c.params);
    const int rounds = c.params.find("axis: 0") == std::string::npos ? 2 : 1;
    test::expect_gpu_matches_cpu<float>(ip_text(c.params), {c.shape},
                                        {.tol = 1e-4, .rounds = rounds});
    test::expect_gpu_matches_cpu<double>(ip_text(c.params), {c.shape},
                                         {.tol = 1e-10, .rounds = rounds});
  }
  // Larger than a GEMM tile in every dimension.
  test::expect_gpu_matches_cpu<float>(ip_text("num_output: 70"), {{33, 5, 4, 7}}, {.tol = 1e-4});
  test::expect_gpu_matches_cpu<float>(ip_text("num_output: 70 transpose: true"), {{33, 140}},
                                      {.tol = 1e-4});
#endif
}

}  // namespace
}  // namespace crema
