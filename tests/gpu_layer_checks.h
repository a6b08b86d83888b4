/// GPU-vs-CPU checks for layers with a GPU path: the same layer text and inputs run on
/// Context::cpu(1) and on Context::gpu(0), forward and backward, and the outputs, bottom diffs
/// and parameter diffs are compared bitwise (tol 0) or within a relative tolerance.
///
/// Tolerances: a body whose result is one correctly rounded operation per value (select, add,
/// multiply, divide, compare) gives the same bits on both devices. Bodies that call exp, log,
/// tanh, pow and the like do not: CUDA's device math library differs from glibc by a few ulp, and
/// nvcc fuses a * b + c into one rounding where the host rounds twice. Those compare at 1e-5
/// relative in float.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "tests/cuda_test_util.h"
#include "tests/layer_checks.h"

namespace crema::test {

/// Float tolerance of GPU-vs-CPU comparisons of bodies with device math or fused multiply-adds.
inline constexpr double kGpuMathTol = 1e-5;

/// a and b agree bitwise (tol 0) or within `tol` relative (see expect_near).
template <class T>
void expect_values(const std::vector<T>& got, const std::vector<T>& want, double tol,
                   const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  if (tol == 0) {
    for (size_t i = 0; i < got.size(); ++i)
      ASSERT_EQ(got[i], want[i]) << what << "[" << i << "] differs (bitwise comparison)";
  } else {
    expect_near(got.data(), want.data(), static_cast<int64_t>(got.size()), tol, what.c_str());
  }
}

template <class T>
void expect_pass_matches(const PassResult<T>& gpu, const PassResult<T>& cpu, double tol) {
  EXPECT_EQ(gpu.top_shape, cpu.top_shape);
  expect_values(gpu.y, cpu.y, tol, "top data");
  expect_values(gpu.dx, cpu.dx, tol, "bottom diff");
  ASSERT_EQ(gpu.param_diffs.size(), cpu.param_diffs.size());
  for (size_t k = 0; k < gpu.param_diffs.size(); ++k)
    expect_values(gpu.param_diffs[k], cpu.param_diffs[k], tol, "param " + std::to_string(k));
}

/// One-bottom layer `text` on x: forward_backward (layer_checks.h) on GPU 0 against the CPU,
/// in-place when asked; backward only when `backward`.
template <class T>
void expect_gpu_matches_cpu(const std::string& text, const Tensor<T>& x, bool in_place, double tol,
                            bool backward = true) {
  SCOPED_TRACE(in_place ? "GPU vs CPU, in-place" : "GPU vs CPU");
  Context cpu = Context::cpu(1);
  Context gpu = Context::gpu(0, 1);
  expect_pass_matches(forward_backward(text, gpu, x, in_place, 99, backward),
                      forward_backward(text, cpu, x, in_place, 99, backward), tol);
}

/// What one forward + backward pass of a many-bottom layer produced.
template <class T>
struct MultiPassResult {
  std::vector<T> y;
  std::vector<std::vector<T>> dx;           // per bottom (the sentinel where not propagated)
  std::vector<std::vector<T>> param_diffs;  // each parameter blob's diff (zeroed before)
};

/// Sets up `text` on copies of `inputs` (separate top), runs forward, sets the top diff to
/// random values and runs backward with bottom diffs preset to a sentinel.
template <class T>
MultiPassResult<T> forward_backward_multi(const std::string& text, Context& ctx,
                                          const std::vector<const Tensor<T>*>& inputs,
                                          const std::vector<bool>& propagate_down) {
  std::vector<Tensor<T>> bottoms(inputs.size());
  TensorVec<T> bottom;
  for (size_t i = 0; i < inputs.size(); ++i) {
    bottoms[i].copy_from(*inputs[i], false, true);
    bottom.push_back(&bottoms[i]);
  }
  Tensor<T> top;
  auto layer = make_layer<T>(text, ctx, bottom, {&top});
  layer->forward(ctx, bottom, {&top});
  MultiPassResult<T> r;
  r.y.assign(top.cpu_data(), top.cpu_data() + top.count());
  const auto dy = random_values<T>(top.count(), 99);
  std::copy(dy.begin(), dy.end(), top.mutable_cpu_diff());
  for (auto* b : bottom) b->set_diff(T(7));
  for (auto& p : layer->blobs()) p->set_diff(T(0));
  layer->backward(ctx, {&top}, propagate_down, bottom);
  for (auto* b : bottom) r.dx.emplace_back(b->cpu_diff(), b->cpu_diff() + b->count());
  for (auto& p : layer->blobs())
    r.param_diffs.emplace_back(p->cpu_diff(), p->cpu_diff() + p->count());
  return r;
}

/// Many-bottom layer `text` on `inputs` on GPU 0 against the CPU.
template <class T>
void expect_gpu_matches_cpu_multi(const std::string& text,
                                  const std::vector<const Tensor<T>*>& inputs,
                                  const std::vector<bool>& propagate_down, double tol) {
  SCOPED_TRACE("GPU vs CPU");
  Context cpu = Context::cpu(1);
  Context gpu = Context::gpu(0, 1);
  const MultiPassResult<T> g = forward_backward_multi(text, gpu, inputs, propagate_down);
  const MultiPassResult<T> c = forward_backward_multi(text, cpu, inputs, propagate_down);
  expect_values(g.y, c.y, tol, "top data");
  for (size_t i = 0; i < inputs.size(); ++i)
    expect_values(g.dx[i], c.dx[i], tol, "bottom " + std::to_string(i) + " diff");
  ASSERT_EQ(g.param_diffs.size(), c.param_diffs.size());
  for (size_t k = 0; k < g.param_diffs.size(); ++k)
    expect_values(g.param_diffs[k], c.param_diffs[k], tol, "param " + std::to_string(k));
}

}  // namespace crema::test
