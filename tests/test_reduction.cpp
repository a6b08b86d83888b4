#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/gpu_compare.h"
#include "tests/reference/reduction_ref.h"
#include "tests/test_util.h"

namespace crema {
namespace {

std::string reduction_text(const std::string& param) {
  return "name: 'red' type: 'Reduction' reduction_param { " + param + " }";
}

template <class T>
std::vector<double> to_vec(const Tensor<T>& t, bool diff = false) {
  const T* p = diff ? t.cpu_diff() : t.cpu_data();
  return std::vector<double>(p, p + t.count());
}

const std::vector<std::string> kOps = {"SUM", "ASUM", "SUMSQ", "MEAN"};

template <class T>
void check_case(const std::vector<int64_t>& shape, int axis, int canonical, const std::string& op,
                double coeff, double tol) {
  std::string param = "operation: " + op + " axis: " + std::to_string(axis);
  if (coeff != 1) param += " coeff: " + std::to_string(coeff);
  SCOPED_TRACE(param + " on " + shape_string(shape));
  Context ctx = Context::cpu(1);
  Tensor<T> x(shape), y;
  test::fill_uniform(x, -2, 2, 21);
  auto layer = test::make_layer<T>(reduction_text(param), ctx, {&x}, {&y});
  layer->forward(ctx, {&x}, {&y});
  const std::vector<int64_t> want_shape(shape.begin(), shape.begin() + canonical);
  ASSERT_EQ(y.shape(), want_shape);
  Tensor<T> dy(want_shape);
  test::fill_uniform(dy, -1, 1, 22);
  const auto want = ref::reduction(to_vec(x), y.count(), op, coeff, to_vec(dy));
  const std::vector<T> wy(want.y.begin(), want.y.end());
  test::expect_near(y.cpu_data(), wy.data(), y.count(), tol, "reduction y");
  std::copy(dy.cpu_data(), dy.cpu_data() + dy.count(), y.mutable_cpu_diff());
  x.set_diff(T(7));
  layer->backward(ctx, {&y}, {true}, {&x});
  const std::vector<T> wd(want.dx.begin(), want.dx.end());
  test::expect_near(x.cpu_diff(), wd.data(), x.count(), tol, "reduction dx");
}

TEST(Reduction, ForwardBackwardMatchReference) {
  for (const std::string& op : kOps) {
    for (double coeff : {1.0, 0.5, -2.0}) {
      check_case<double>({2, 3, 4}, 0, 0, op, coeff, 1e-12);
      check_case<double>({2, 3, 4}, 1, 1, op, coeff, 1e-12);
      check_case<float>({2, 3, 4}, 2, 2, op, coeff, 1e-5);
      check_case<float>({2, 3, 4}, -1, 2, op, coeff, 1e-5);
      check_case<double>({3, 2, 2, 5}, -3, 1, op, coeff, 1e-12);
    }
  }
}

TEST(Reduction, DefaultsSumEverythingToAScalar) {
  Context ctx = Context::cpu(1);
  Tensor<double> x({2, 2}), y;
  const double v[] = {1, -2, 3, 4.5};
  std::copy(v, v + 4, x.mutable_cpu_data());
  auto layer = test::make_layer<double>("name: 'r' type: 'Reduction'", ctx, {&x}, {&y});
  layer->forward(ctx, {&x}, {&y});
  EXPECT_EQ(y.num_axes(), 0);
  EXPECT_EQ(y.cpu_data()[0], 6.5);
}

TEST(Reduction, GradientDouble) {
  for (const std::string& op : kOps) {
    SCOPED_TRACE(op);
    Context ctx = Context::cpu(1);
    Tensor<double> x({2, 3, 2}), y;
    test::fill_away_from_zero(x, 0.1, 2, 23);  // away from ASUM's kink at 0
    auto layer = test::make_layer<double>(
        reduction_text("operation: " + op + " axis: 1 coeff: 1.5"), ctx, {&x}, {&y});
    test::check_gradient<double>(*layer, ctx, {&x}, {&y});
  }
}

TEST(Reduction, ThreadsBitwiseIdentical) {
  for (const std::string& op : kOps) {
    SCOPED_TRACE(op);
    std::vector<std::vector<float>> out;
    for (int threads : {1, 2}) {
      Context ctx = Context::cpu(threads);
      Tensor<float> x({512, 3, 7}), y;
      test::fill_uniform(x, -2, 2, 24);
      auto layer =
          test::make_layer<float>(reduction_text("operation: " + op + " axis: 1"), ctx, {&x}, {&y});
      layer->forward(ctx, {&x}, {&y});
      std::vector<float> v(y.cpu_data(), y.cpu_data() + y.count());
      test::fill_uniform(y, -1, 1, 25);
      std::copy(y.cpu_data(), y.cpu_data() + y.count(), y.mutable_cpu_diff());
      layer->backward(ctx, {&y}, {true}, {&x});
      v.insert(v.end(), x.cpu_diff(), x.cpu_diff() + x.count());
      out.push_back(std::move(v));
    }
    EXPECT_TRUE(out[0] == out[1]);
  }
}

TEST(Reduction, Errors) {
  Context ctx = Context::cpu(1);
  Tensor<float> x({2, 3, 4}), y;
  EXPECT_THROW(test::make_layer<float>(reduction_text("axis: 3"), ctx, {&x}, {&y}), ShapeError);
  EXPECT_THROW(test::make_layer<float>(reduction_text("axis: -4"), ctx, {&x}, {&y}), ShapeError);
  EXPECT_THROW(test::make_layer<float>(reduction_text(""), ctx, {&x}, {&x}), ConfigError);
  EXPECT_THROW(test::make_layer<float>(reduction_text(""), ctx, {&x, &y}, {&y}), ConfigError);
  try {
    test::make_layer<float>(reduction_text("axis: 7"), ctx, {&x}, {&y});
    ADD_FAILURE() << "expected ShapeError";
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("2x3x4"), std::string::npos) << e.what();
  }
}

// Each top value is a sum in index order in double on both devices, and the backward one or two
// products: bitwise, except SUMSQ in double, where nvcc fuses v * v into the sum (one rounding
// where the host rounds twice). In float the square of a float is exact in double, so the fused
// and the unfused sums agree bit for bit.
double reduction_gpu_tol(const std::string& op, bool is_double) {
  return op == "SUMSQ" && is_double ? 1e-12 : 0.0;
}

TEST(GpuReduction, MatchesCpu) {
  CREMA_REQUIRE_GPU();
  for (const std::string& op : kOps) {
    for (const char* rest : {" axis: 0", " axis: 1 coeff: -2", " axis: -1 coeff: 0.5"}) {
      const std::string text = reduction_text("operation: " + op + rest);
      SCOPED_TRACE(text);
      test::expect_gpu_matches_cpu<float>(text, {{2, 3, 4}},
                                          {.tol = reduction_gpu_tol(op, false), .lo = -2, .hi = 2});
      test::expect_gpu_matches_cpu<double>(text, {{3, 2, 2, 5}},
                                           {.tol = reduction_gpu_tol(op, true), .lo = -2, .hi = 2});
    }
  }
  // Many rows per launch.
  test::expect_gpu_matches_cpu<float>(reduction_text("operation: ASUM axis: 2"), {{4, 16, 33, 7}},
                                      {.tol = 0});
}

}  // namespace
}  // namespace crema
