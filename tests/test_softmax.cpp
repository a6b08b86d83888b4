#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "tests/cuda_test_util.h"
#include "tests/gpu_compare.h"
#include "tests/reference/softmax_ref.h"
#include "tests/test_util.h"

namespace crema {
namespace {

using test::make_layer;

template <class T>
std::vector<double> to_vec(const T* p, int64_t n) {
  return std::vector<double>(p, p + n);
}

std::string softmax_text(int axis) {
  return "name: 'prob' type: 'Softmax' softmax_param { axis: " + std::to_string(axis) + " }";
}

template <class T>
void check_forward_backward(const std::vector<int64_t>& shape, int axis, double tol) {
  Context ctx = Context::cpu(1);
  Tensor<T> x(shape), y, dx(shape);
  test::fill_uniform(x, -4, 4, 11);
  TensorVec<T> bottom{&x}, top{&y};
  auto layer = make_layer<T>(softmax_text(axis), ctx, bottom, top);
  layer->forward(ctx, bottom, top);
  ASSERT_EQ(y.shape(), shape);
  const int a = axis < 0 ? axis + static_cast<int>(shape.size()) : axis;
  const auto want = ref::softmax(to_vec(x.cpu_data(), x.count()), shape, a);
  std::vector<T> want_t(want.begin(), want.end());
  test::expect_near(y.cpu_data(), want_t.data(), y.count(), tol, "softmax");

  Tensor<T> dy(shape);
  test::fill_uniform(dy, -1, 1, 12);
  std::copy(dy.cpu_data(), dy.cpu_data() + dy.count(), y.mutable_cpu_diff());
  layer->backward(ctx, top, {true}, bottom);
  const auto want_dx = ref::softmax_backward(to_vec(y.cpu_data(), y.count()),
                                             to_vec(dy.cpu_data(), dy.count()), shape, a);
  std::vector<T> want_dx_t(want_dx.begin(), want_dx.end());
  test::expect_near(x.cpu_diff(), want_dx_t.data(), x.count(), tol, "softmax diff");
}

TEST(Softmax, ForwardBackwardMatchReferenceOverShapesAndAxes) {
  for (int axis : {0, 1, 2, 3, -1, -3}) {
    SCOPED_TRACE(axis);
    check_forward_backward<float>({2, 5, 3, 4}, axis, 1e-5);
    check_forward_backward<double>({2, 5, 3, 4}, axis, 1e-12);
  }
  check_forward_backward<double>({3, 7}, 1, 1e-12);
  check_forward_backward<double>({6}, 0, 1e-12);
  check_forward_backward<double>({4, 1, 3}, 1, 1e-12);  // one class: all ones, zero gradient
}

TEST(Softmax, DefaultAxisIsOne) {
  Context ctx = Context::cpu(1);
  Tensor<double> x({2, 3, 2}), y;
  test::fill_uniform(x, -2, 2, 3);
  TensorVec<double> bottom{&x}, top{&y};
  auto layer = make_layer<double>("name: 'prob' type: 'Softmax'", ctx, bottom, top);
  layer->forward(ctx, bottom, top);
  const auto want = ref::softmax(to_vec(x.cpu_data(), x.count()), {2, 3, 2}, 1);
  test::expect_near(y.cpu_data(), want.data(), y.count(), 1e-12, "softmax");
}

TEST(Softmax, StableForLargeInputs) {
  Context ctx = Context::cpu(1);
  // p = (1/4, 3/4) for x = (1000, 1000 + log 3) and for x shifted to -1000; naive exp overflows.
  for (float shift : {1000.f, -1000.f}) {
    Tensor<float> x({1, 2}), y;
    x.mutable_cpu_data()[0] = shift;
    x.mutable_cpu_data()[1] = shift + std::log(3.f);
    TensorVec<float> bottom{&x}, top{&y};
    auto layer = make_layer<float>(softmax_text(1), ctx, bottom, top);
    layer->forward(ctx, bottom, top);
    EXPECT_NEAR(y.cpu_data()[0], 0.25f, 1e-4f);
    EXPECT_NEAR(y.cpu_data()[1], 0.75f, 1e-4f);
  }
}

TEST(Softmax, GradientCheckDouble) {
  for (int axis : {1, 2, -1}) {
    SCOPED_TRACE(axis);
    Context ctx = Context::cpu(1);
    Tensor<double> x({2, 3, 2, 3}), y;
    test::fill_uniform(x, -2, 2, 21);
    TensorVec<double> bottom{&x}, top{&y};
    auto layer = make_layer<double>(softmax_text(axis), ctx, bottom, top);
    test::check_gradient(*layer, ctx, bottom, top);
  }
}

TEST(Softmax, InPlaceMatchesOutOfPlace) {
  Context ctx = Context::cpu(1);
  Tensor<double> x({2, 4, 3}), y, z({2, 4, 3});
  test::fill_uniform(x, -3, 3, 5);
  z.copy_from(x);
  TensorVec<double> bottom{&x}, top{&y}, in_place{&z};
  auto layer = make_layer<double>(softmax_text(1), ctx, bottom, top);
  auto layer_ip = make_layer<double>(softmax_text(1), ctx, in_place, in_place);
  layer->forward(ctx, bottom, top);
  layer_ip->forward(ctx, in_place, in_place);
  Tensor<double> dy(y.shape());
  test::fill_uniform(dy, -1, 1, 6);
  for (int64_t i = 0; i < y.count(); ++i) {
    EXPECT_EQ(z.cpu_data()[i], y.cpu_data()[i]);
    y.mutable_cpu_diff()[i] = dy.cpu_data()[i];
    z.mutable_cpu_diff()[i] = dy.cpu_data()[i];
  }
  layer->backward(ctx, top, {true}, bottom);
  layer_ip->backward(ctx, in_place, {true}, in_place);
  for (int64_t i = 0; i < x.count(); ++i) EXPECT_EQ(z.cpu_diff()[i], x.cpu_diff()[i]) << i;
}

TEST(Softmax, ThreadsBitwiseIdentical) {
  // 4 * 32 * 32 = 4096 slices: enough work items for parallel_for to use the threads.
  std::vector<std::vector<float>> y_out, dx_out;
  for (int threads : {1, 2}) {
    Context ctx = Context::cpu(threads);
    Tensor<float> x({4, 10, 32, 32}), y;
    test::fill_uniform(x, -5, 5, 31);
    TensorVec<float> bottom{&x}, top{&y};
    auto layer = make_layer<float>(softmax_text(1), ctx, bottom, top);
    layer->forward(ctx, bottom, top);
    Tensor<float> dy(y.shape());
    test::fill_uniform(dy, -1, 1, 32);
    std::copy(dy.cpu_data(), dy.cpu_data() + dy.count(), y.mutable_cpu_diff());
    layer->backward(ctx, top, {true}, bottom);
    y_out.emplace_back(y.cpu_data(), y.cpu_data() + y.count());
    dx_out.emplace_back(x.cpu_diff(), x.cpu_diff() + x.count());
  }
  EXPECT_TRUE(y_out[0] == y_out[1]);
  EXPECT_TRUE(dx_out[0] == dx_out[1]);
}

TEST(Softmax, Errors) {
  Context ctx = Context::cpu(1);
  Tensor<float> x({2, 3, 4}), y, z;
  TensorVec<float> bottom{&x}, top{&y};
  EXPECT_THROW(make_layer<float>(softmax_text(3), ctx, bottom, top), ConfigError);
  EXPECT_THROW(make_layer<float>(softmax_text(-4), ctx, bottom, top), ConfigError);
  try {
    make_layer<float>(softmax_text(5), ctx, bottom, top);
    ADD_FAILURE() << "no error for axis 5";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("softmax_param.axis 5 is out of range"), std::string::npos)
        << e.what();
  }
  TensorVec<float> two_bottoms{&x, &z};
  EXPECT_THROW(make_layer<float>(softmax_text(1), ctx, two_bottoms, top), ConfigError);
  // A later reshape to fewer axes puts the axis out of range too.
  auto layer = make_layer<float>(softmax_text(2), ctx, bottom, top);
  x.reshape({6, 4});
  EXPECT_THROW(layer->forward(ctx, bottom, top), ConfigError);
}

// The cuDNN path against the CPU path over several (outer, channels, inner) views, including
// inner = 1, outer = 1, a 2-d bottom and in-place: forward and bottom diff, 1e-5 relative in
// float (cuDNN's exp differs from libm's), 1e-10 in double.
TEST(GpuSoftmax, LayerMatchesCpu) {
  CREMA_REQUIRE_GPU();
#if CREMA_WITH_CUDA
  struct Case {
    std::vector<int64_t> shape;
    int axis;
    bool in_place;
  };
  const std::vector<Case> cases = {
      {{2, 5, 3, 4}, 1, false}, {{2, 5, 3, 4}, -1, false}, {{2, 5, 3, 4}, 0, false},
      {{6, 10}, 1, false},      {{3, 7, 2, 3}, 2, false},  {{2, 5, 3, 4}, 1, true},
      {{4, 1000}, 1, false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(softmax_text(c.axis) + (c.in_place ? " in place" : ""));
    test::expect_gpu_matches_cpu<float>(softmax_text(c.axis), {c.shape},
                                        {.tol = 1e-5, .in_place = c.in_place, .lo = -4, .hi = 4});
    test::expect_gpu_matches_cpu<double>(softmax_text(c.axis), {c.shape},
                                         {.tol = 1e-10, .in_place = c.in_place, .lo = -4, .hi = 4});
  }
#endif
}

}  // namespace
}  // namespace crema
