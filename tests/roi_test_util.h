/// Helpers shared by the RoI layer tests (ROIPooling, ROIMaskPooling, ROIAlign).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "core/io.h"
#include "core/layer.h"
#include "cuda_kernels/roi_pooling.h"
#include "tests/cuda_test_util.h"
#include "tests/test_util.h"

namespace crema::test {

/// RoI rows (batch, x1, y1, x2, y2) as an R x 5 tensor.
template <class T>
Tensor<T> make_rois(const std::vector<std::array<double, 5>>& rows) {
  Tensor<T> t({static_cast<int64_t>(rows.size()), 5});
  for (size_t r = 0; r < rows.size(); ++r)
    for (int k = 0; k < 5; ++k) t.mutable_cpu_data()[5 * r + k] = static_cast<T>(rows[r][k]);
  return t;
}

/// Distinct values (k + 0.5) * gap - 1 in a random order: no ties, none 0, neighbours `gap`
/// apart, so max pooling has no kinks within a finite-difference step.
template <class T>
void fill_distinct(Tensor<T>& t, uint64_t seed) {
  std::vector<int64_t> k(t.count());
  std::iota(k.begin(), k.end(), 0);
  std::shuffle(k.begin(), k.end(), std::mt19937_64(seed));
  const double gap = 2.0 / static_cast<double>(t.count());
  for (int64_t i = 0; i < t.count(); ++i)
    t.mutable_cpu_data()[i] = static_cast<T>((k[i] + 0.5) * gap - 1.0);
}

/// A golden .npy file as a tensor of its shape.
template <class T>
Tensor<T> load_golden(const std::string& rel) {
  const NpyArray a = read_npy(std::string(CREMA_SOURCE_DIR) + "/tests/golden/" + rel);
  Tensor<T> t(a.shape);
  for (int64_t i = 0; i < t.count(); ++i) t.mutable_cpu_data()[i] = static_cast<T>(a.data[i]);
  return t;
}

/// Forward, then backward of top diff `dy` (bottom 0 diff starts at a sentinel); returns
/// (top data, bottom 0 diff).
template <class T>
std::pair<std::vector<T>, std::vector<T>> forward_backward(Layer<T>& layer, Context& ctx,
                                                           Tensor<T>& x, Tensor<T>& rois,
                                                           Tensor<T>& y, const Tensor<T>& dy) {
  layer.forward(ctx, {&x, &rois}, {&y});
  EXPECT_EQ(y.shape(), dy.shape());
  std::copy(dy.cpu_data(), dy.cpu_data() + dy.count(), y.mutable_cpu_diff());
  x.set_diff(T(7));
  layer.backward(ctx, {&y}, {true, false}, {&x, &rois});
  return {std::vector<T>(y.cpu_data(), y.cpu_data() + y.count()),
          std::vector<T>(x.cpu_diff(), x.cpu_diff() + x.count())};
}

/// Converts a double vector to T for expect_near.
template <class T>
std::vector<T> as(const std::vector<double>& v) {
  return std::vector<T>(v.begin(), v.end());
}

/// Runs the RoI layer of `text` (3 x 3 bins) with 1 and 2 threads on a 2 x 8 x 16 x 16 map and
/// the RoIs `rows`; outputs and input gradients must be bitwise equal (GATHER bodies).
inline void expect_same_with_one_and_two_threads(const std::string& text,
                                                 const std::vector<std::array<double, 5>>& rows) {
  Tensor<float> x({2, 8, 16, 16}), dy({static_cast<int64_t>(rows.size()), 8, 3, 3});
  fill_uniform(x, -1, 1, 9);
  fill_uniform(dy, -1, 1, 10);
  Tensor<float> rois = make_rois<float>(rows);
  std::vector<std::vector<float>> outs, dxs;
  for (int threads : {1, 2}) {
    Context ctx = Context::cpu(threads);
    Tensor<float> y;
    auto layer = make_layer<float>(text, ctx, {&x, &rois}, {&y});
    auto [out, dx] = forward_backward(*layer, ctx, x, rois, y, dy);
    outs.push_back(out);
    dxs.push_back(dx);
  }
  EXPECT_EQ(outs[0], outs[1]);
  EXPECT_EQ(dxs[0], dxs[1]);
}

#if CREMA_WITH_CUDA
/// What ROIPooling's launchers produced on the device.
struct RoiPoolLaunch {
  std::vector<float> y, dx;
  std::vector<int32_t> argmax;
};

/// Runs ROIPooling's launchers (box geometry, forward with argmax, backward of dy) on device
/// copies of x, rois and dy, with the caller's args (ROIPooling and ROIMaskPooling settings).
inline RoiPoolLaunch run_roi_pool_launchers(const kernels::RoiPoolArgs<float>& a,
                                            const Tensor<float>& x, const Tensor<float>& rois,
                                            const Tensor<float>& dy) {
  auto host = [](const Tensor<float>& t) {
    return std::vector<float>(t.cpu_data(), t.cpu_data() + t.count());
  };
  testing::DeviceBuffer<float> d_rois(host(rois)), d_x(host(x)), d_dy(host(dy));
  testing::DeviceBuffer<float> d_y(static_cast<size_t>(dy.count())),
      d_dx(static_cast<size_t>(x.count()));
  testing::DeviceBuffer<int32_t> d_argmax(static_cast<size_t>(dy.count()));
  testing::DeviceBuffer<kernels::RoiPoolBox<float>> d_boxes(
      std::vector<kernels::RoiPoolBox<float>>(a.num_rois));
  cuda::launch_roi_pool_geometry<float>(nullptr, a.num_rois, a, d_rois.get(), d_boxes.get());
  cuda::launch_roi_pool_forward<float>(nullptr, dy.count(), a, d_boxes.get(), d_x.get(), d_y.get(),
                                       d_argmax.get());
  cuda::launch_roi_pool_backward<float>(nullptr, x.count(), a, d_boxes.get(), d_argmax.get(),
                                        d_dy.get(), d_dx.get());
  return {d_y.to_host(), d_dx.to_host(), d_argmax.to_host()};
}
#endif

}  // namespace crema::test
