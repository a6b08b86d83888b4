/// GPU-vs-CPU check of one layer for the Gpu* tests: the same prototxt, bottoms, parameters and
/// diffs through Context::cpu(1) and Context::gpu(0), forward and backward compared.
///
/// Tolerances: a body whose result is one correctly rounded operation per value (select, copy,
/// add, multiply, divide, compare), or a sum in the same fixed order on both devices, gives the
/// same bits (tol 0). Bodies that call exp, log, tanh, pow and the like do not: CUDA's device
/// math library differs from glibc by a few ulp, and nvcc fuses a * b + c into one rounding where
/// the host rounds twice. Those compare at kGpuMathTol relative in float. cuDNN and cuBLAS sum in
/// their own order: 1e-4 in float, 1e-10 in double.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tests/cuda_test_util.h"
#include "tests/test_util.h"

namespace crema::test {

/// Float tolerance of GPU-vs-CPU comparisons of bodies with device math or fused multiply-adds.
inline constexpr double kGpuMathTol = 1e-5;

/// Options of expect_gpu_matches_cpu.
struct GpuCompare {
  double tol = 1e-4;       ///< relative tolerance (expect_near); 0 demands bitwise equality
  bool in_place = false;   ///< top 0 is bottom 0
  int num_tops = -1;       ///< tops to create; -1: one per bottom
  int rounds = 2;          ///< passes on the same layers; round r adds r to every bottom's axis 0
  double lo = -1, hi = 1;  ///< bottom data range (when no BottomFill is given)
  uint64_t seed = 11;
  bool backward = true;                   ///< run and compare backward
  std::vector<bool> propagate_down = {};  ///< per bottom; empty: every bottom
};

/// Fills bottom `b` (already shaped for the round) in place of the uniform fill: labels, given
/// inputs. Called once per bottom and round; the GPU bottom receives a copy.
template <class T>
using BottomFill = std::function<void(size_t b, Tensor<T>& bottom, uint64_t seed)>;

/// Compares `got` (GPU) with `want` (CPU) within tol, or bitwise when tol is 0.
template <class T>
void expect_close(const T* got, const T* want, int64_t n, double tol, const std::string& what) {
  if (tol > 0) {
    expect_near(got, want, n, tol, what.c_str());
    return;
  }
  int reported = 0;
  for (int64_t i = 0; i < n && reported < 5; ++i) {
    if (got[i] != want[i]) {
      ADD_FAILURE() << what << "[" << i << "]: got " << got[i] << ", want " << want[i]
                    << " (bitwise)";
      ++reported;
    }
  }
}

/// expect_close on whole vectors of equal size.
template <class T>
void expect_values(const std::vector<T>& got, const std::vector<T>& want, double tol,
                   const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  expect_close(got.data(), want.data(), static_cast<int64_t>(got.size()), tol, what);
}

/// Sets up the layer of `text` on the CPU and on GPU 0 with bottoms of `shapes`, copies the CPU
/// layer's parameters to the GPU one, and for each round: fills the bottoms (same values on
/// both), runs forward and compares every top; fills top diffs with random values, parameter
/// diffs with the same random start (so accumulation shows) and bottom diffs with a sentinel
/// (so accumulating into them shows), runs backward and compares bottom and parameter diffs.
/// Later rounds change the batch size, so shape-keyed state (descriptors, cached algorithms,
/// scratch) is exercised for a second shape on the same layer.
template <class T>
void expect_gpu_matches_cpu(const std::string& text,
                            const std::vector<std::vector<int64_t>>& shapes,
                            const GpuCompare& opt = {}, const BottomFill<T>& fill = {}) {
  SCOPED_TRACE(opt.in_place ? "GPU vs CPU, in-place" : "GPU vs CPU");
  Context cpu = Context::cpu(1);
  Context gpu = Context::gpu(0, 1);
  const size_t nb = shapes.size();
  const size_t nt = opt.num_tops < 0 ? nb : static_cast<size_t>(opt.num_tops);
  std::vector<std::unique_ptr<Tensor<T>>> owned;
  auto tensor = [&](const std::vector<int64_t>& shape) {
    owned.push_back(std::make_unique<Tensor<T>>(shape));
    return owned.back().get();
  };
  auto fill_bottoms = [&](TensorVec<T>& bc, TensorVec<T>& bg, uint64_t seed) {
    for (size_t b = 0; b < nb; ++b) {
      if (fill)
        fill(b, *bc[b], seed + b);
      else
        fill_uniform(*bc[b], opt.lo, opt.hi, seed + b);
      bg[b]->copy_from(*bc[b]);
    }
  };
  TensorVec<T> bc, bg, tc, tg;
  for (size_t b = 0; b < nb; ++b) {
    bc.push_back(tensor(shapes[b]));
    bg.push_back(tensor(shapes[b]));
  }
  fill_bottoms(bc, bg, opt.seed);
  for (size_t k = 0; k < nt; ++k) {
    const bool alias = opt.in_place && k == 0;
    tc.push_back(alias ? bc[0] : tensor({}));
    tg.push_back(alias ? bg[0] : tensor({}));
  }
  auto lc = make_layer<T>(text, cpu, bc, tc);
  auto lg = make_layer<T>(text, gpu, bg, tg);
  ASSERT_TRUE(lg->has_gpu_path());
  ASSERT_EQ(lc->blobs().size(), lg->blobs().size());
  for (size_t p = 0; p < lc->blobs().size(); ++p) lg->blobs()[p]->copy_from(*lc->blobs()[p]);
  std::vector<bool> down = opt.propagate_down;
  if (down.empty()) down.assign(nb, true);
  ASSERT_EQ(down.size(), nb) << "test bug: one propagate_down per bottom";

  for (int round = 0; round < opt.rounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    const uint64_t seed = opt.seed + 1000 * static_cast<uint64_t>(round);
    for (size_t b = 0; b < nb; ++b) {
      std::vector<int64_t> shape = shapes[b];
      if (!shape.empty()) shape[0] += round;
      bc[b]->reshape(shape);
      bg[b]->reshape(shape);
    }
    fill_bottoms(bc, bg, seed);
    lc->forward(cpu, bc, tc);
    lg->forward(gpu, bg, tg);
    for (size_t k = 0; k < nt; ++k) {
      ASSERT_EQ(tg[k]->shape(), tc[k]->shape()) << "top " << k;
      expect_close(tg[k]->cpu_data(), tc[k]->cpu_data(), tc[k]->count(), opt.tol,
                   "top " + std::to_string(k) + " data");
    }
    if (!opt.backward) continue;
    for (size_t k = 0; k < nt; ++k) {
      Tensor<T> r(tc[k]->shape());
      fill_uniform(r, -1, 1, seed + 100 + k);
      std::copy(r.cpu_data(), r.cpu_data() + r.count(), tc[k]->mutable_cpu_diff());
      std::copy(r.cpu_data(), r.cpu_data() + r.count(), tg[k]->mutable_cpu_diff());
    }
    for (size_t p = 0; p < lc->blobs().size(); ++p) {
      Tensor<T> r(lc->blobs()[p]->shape());
      fill_uniform(r, -1, 1, seed + 200 + p);
      std::copy(r.cpu_data(), r.cpu_data() + r.count(), lc->blobs()[p]->mutable_cpu_diff());
      std::copy(r.cpu_data(), r.cpu_data() + r.count(), lg->blobs()[p]->mutable_cpu_diff());
    }
    for (size_t b = 0; b < nb; ++b) {
      if (opt.in_place && b == 0) continue;
      bc[b]->set_diff(T(7));
      bg[b]->set_diff(T(7));
    }
    lc->backward(cpu, tc, down, bc);
    lg->backward(gpu, tg, down, bg);
    for (size_t b = 0; b < nb; ++b)
      expect_close(bg[b]->cpu_diff(), bc[b]->cpu_diff(), bc[b]->count(), opt.tol,
                   "bottom " + std::to_string(b) + " diff");
    for (size_t p = 0; p < lc->blobs().size(); ++p)
      expect_close(lg->blobs()[p]->cpu_diff(), lc->blobs()[p]->cpu_diff(), lc->blobs()[p]->count(),
                   opt.tol, "param " + std::to_string(p) + " diff");
  }
}

/// The check above on given bottoms (one round, their shapes and values).
template <class T>
void expect_gpu_matches_cpu_on(const std::string& text, const std::vector<const Tensor<T>*>& inputs,
                               GpuCompare opt) {
  std::vector<std::vector<int64_t>> shapes;
  for (const Tensor<T>* x : inputs) shapes.push_back(x->shape());
  opt.rounds = 1;
  expect_gpu_matches_cpu<T>(text, shapes, opt,
                            [&](size_t b, Tensor<T>& t, uint64_t) { t.copy_from(*inputs[b]); });
}

/// One-bottom layer `text` on x, in-place when asked; backward only when `backward`.
template <class T>
void expect_gpu_matches_cpu(const std::string& text, const Tensor<T>& x, bool in_place, double tol,
                            bool backward = true) {
  expect_gpu_matches_cpu_on<T>(text, {&x},
                               {.tol = tol, .in_place = in_place, .backward = backward});
}

/// Many-bottom layer `text` on `inputs`, backward to the bottoms marked in propagate_down.
template <class T>
void expect_gpu_matches_cpu_multi(const std::string& text,
                                  const std::vector<const Tensor<T>*>& inputs,
                                  const std::vector<bool>& propagate_down, double tol) {
  expect_gpu_matches_cpu_on<T>(text, inputs,
                               {.tol = tol, .num_tops = 1, .propagate_down = propagate_down});
}

}  // namespace crema::test
