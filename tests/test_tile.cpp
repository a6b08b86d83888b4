#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/gpu_compare.h"
#include "tests/reference/tile_ref.h"
#include "tests/test_util.h"

namespace crema {
namespace {

std::string tile_text(const std::string& param) {
  return "name: 'tile' type: 'Tile' tile_param { " + param + " }";
}

template <class T>
std::vector<double> to_vec(const Tensor<T>& t, bool diff = false) {
  const T* p = diff ? t.cpu_diff() : t.cpu_data();
  return std::vector<double>(p, p + t.count());
}

template <class T>
void check_case(const std::vector<int64_t>& shape, int axis, int canonical, int tiles) {
  const std::string param = "axis: " + std::to_string(axis) + " tiles: " + std::to_string(tiles);
  SCOPED_TRACE(param + " on " + shape_string(shape));
  Context ctx = Context::cpu(1);
  Tensor<T> x(shape), y;
  test::fill_uniform(x, -1, 1, 11);
  auto layer = test::make_layer<T>(tile_text(param), ctx, {&x}, {&y});
  layer->forward(ctx, {&x}, {&y});
  std::vector<int64_t> want_shape = shape;
  want_shape[canonical] *= tiles;
  ASSERT_EQ(y.shape(), want_shape);
  const auto want = ref::tile_forward(to_vec(x), shape, canonical, tiles);
  const std::vector<T> wy(want.begin(), want.end());
  test::expect_near(y.cpu_data(), wy.data(), y.count(), 0.0, "tile y");
  test::fill_uniform(y, -1, 1, 12);
  std::copy(y.cpu_data(), y.cpu_data() + y.count(), y.mutable_cpu_diff());
  x.set_diff(T(7));
  layer->backward(ctx, {&y}, {true}, {&x});
  const auto wdx = ref::tile_backward(to_vec(y, true), shape, canonical, tiles);
  const std::vector<T> wd(wdx.begin(), wdx.end());
  test::expect_near(x.cpu_diff(), wd.data(), x.count(), 1e-6, "tile dx");
}

TEST(Tile, ForwardBackwardMatchReference) {
  for (int tiles : {1, 2, 3}) {
    check_case<float>({2, 3, 4}, 1, 1, tiles);
    check_case<double>({2, 3, 4}, 0, 0, tiles);
    check_case<double>({2, 3, 4}, 2, 2, tiles);
    check_case<float>({2, 3, 4}, -1, 2, tiles);
    check_case<double>({3, 2, 2, 2}, -3, 1, tiles);
  }
}

TEST(Tile, DefaultAxisIsOne) {
  Context ctx = Context::cpu(1);
  Tensor<double> x({2, 3}), y;
  auto layer = test::make_layer<double>(tile_text("tiles: 4"), ctx, {&x}, {&y});
  EXPECT_EQ(y.shape(), (std::vector<int64_t>{2, 12}));
}

TEST(Tile, GradientDouble) {
  Context ctx = Context::cpu(1);
  Tensor<double> x({2, 3, 2}), y;
  test::fill_uniform(x, -1, 1, 3);
  auto layer = test::make_layer<double>(tile_text("axis: 1 tiles: 3"), ctx, {&x}, {&y});
  test::check_gradient<double>(*layer, ctx, {&x}, {&y});
}

TEST(Tile, ThreadsBitwiseIdentical) {
  std::vector<std::vector<float>> out;
  for (int threads : {1, 2}) {
    Context ctx = Context::cpu(threads);
    Tensor<float> x({8, 16, 8}), y;
    test::fill_uniform(x, -1, 1, 5);
    auto layer = test::make_layer<float>(tile_text("axis: 1 tiles: 5"), ctx, {&x}, {&y});
    layer->forward(ctx, {&x}, {&y});
    std::vector<float> v(y.cpu_data(), y.cpu_data() + y.count());
    test::fill_uniform(y, -1, 1, 6);
    std::copy(y.cpu_data(), y.cpu_data() + y.count(), y.mutable_cpu_diff());
    layer->backward(ctx, {&y}, {true}, {&x});
    v.insert(v.end(), x.cpu_diff(), x.cpu_diff() + x.count());
    out.push_back(std::move(v));
  }
  EXPECT_TRUE(out[0] == out[1]);
}

TEST(Tile, Errors) {
  Context ctx = Context::cpu(1);
  Tensor<float> x({2, 3, 4}), y;
  auto make = [&](const std::string& p) {
    return test::make_layer<float>(tile_text(p), ctx, {&x}, {&y});
  };
  EXPECT_THROW(make(""), ConfigError);  // tiles is required
  EXPECT_THROW(make("tiles: 0"), ConfigError);
  EXPECT_THROW(make("tiles: -2"), ConfigError);
  EXPECT_THROW(make("axis: 3 tiles: 2"), ShapeError);
  EXPECT_THROW(make("axis: -4 tiles: 2"), ShapeError);
  EXPECT_THROW(test::make_layer<float>(tile_text("tiles: 2"), ctx, {&x}, {&x}), ConfigError);
  try {
    make("axis: 5 tiles: 2");
    ADD_FAILURE() << "expected ShapeError";
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("2x3x4"), std::string::npos) << e.what();
  }
}

TEST(GpuTile, MatchesCpu) {
  CREMA_REQUIRE_GPU();
  // Forward copies; backward adds the copies in increasing tile order on both devices: bitwise.
  for (int tiles : {1, 3}) {
    for (const char* axis : {"axis: 0", "axis: 1", "axis: -1"}) {
      const std::string text = tile_text(std::string(axis) + " tiles: " + std::to_string(tiles));
      SCOPED_TRACE(text);
      test::expect_gpu_matches_cpu<float>(text, {{2, 3, 4}}, {.tol = 0});
      test::expect_gpu_matches_cpu<double>(text, {{3, 2, 2, 2}}, {.tol = 0});
    }
  }
  test::expect_gpu_matches_cpu<float>(tile_text("tiles: 5"), {{4, 16, 9, 9}}, {.tol = 0});
}

}  // namespace
}  // namespace crema
