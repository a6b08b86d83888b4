/// GPU-vs-CPU check of one layer for the Gpu* tests: the same prototxt, bottoms, parameters and
/// diffs through Context::cpu(1) and Context::gpu(0), forward and backward compared.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "tests/test_util.h"

namespace crema::test {

/// Options of expect_gpu_matches_cpu.
struct GpuCompare {
  double tol = 1e-4;       ///< relative tolerance (expect_near); 0 demands bitwise equality
  bool in_place = false;   ///< top 0 is bottom 0
  int num_tops = -1;       ///< tops to create; -1: one per bottom
  int rounds = 2;          ///< passes on the same layers; round r adds r to every bottom's axis 0
  double lo = -1, hi = 1;  ///< bottom data range
  uint64_t seed = 11;
};

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

/// Sets up the layer of `text` on the CPU and on GPU 0 with bottoms of `shapes`, copies the CPU
/// layer's parameters to the GPU one, and for each round: fills the bottoms (same values on
/// both), runs forward and compares every top; fills top diffs with random values, parameter
/// diffs with the same random start (so accumulation shows) and bottom diffs with a sentinel
/// (so accumulating into them shows), runs backward with every propagate_down set and compares
/// bottom and parameter diffs. Later rounds change the batch size, so shape-keyed state
/// (descriptors, cached algorithms) is exercised for a second shape on the same layer.
template <class T>
void expect_gpu_matches_cpu(const std::string& text,
                            const std::vector<std::vector<int64_t>>& shapes,
                            const GpuCompare& opt = {}) {
  Context cpu = Context::cpu(1);
  Context gpu = Context::gpu(0, 1);
  const size_t nb = shapes.size();
  const size_t nt = opt.num_tops < 0 ? nb : static_cast<size_t>(opt.num_tops);
  std::vector<std::unique_ptr<Tensor<T>>> owned;
  auto tensor = [&](const std::vector<int64_t>& shape) {
    owned.push_back(std::make_unique<Tensor<T>>(shape));
    return owned.back().get();
  };
  TensorVec<T> bc, bg, tc, tg;
  for (size_t b = 0; b < nb; ++b) {
    bc.push_back(tensor(shapes[b]));
    bg.push_back(tensor(shapes[b]));
    fill_uniform(*bc[b], opt.lo, opt.hi, opt.seed + b);
    bg[b]->copy_from(*bc[b]);
  }
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

  for (int round = 0; round < opt.rounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    const uint64_t seed = opt.seed + 1000 * static_cast<uint64_t>(round);
    for (size_t b = 0; b < nb; ++b) {
      std::vector<int64_t> shape = shapes[b];
      if (!shape.empty()) shape[0] += round;
      bc[b]->reshape(shape);
      bg[b]->reshape(shape);
      fill_uniform(*bc[b], opt.lo, opt.hi, seed + b);
      bg[b]->copy_from(*bc[b]);
    }
    lc->forward(cpu, bc, tc);
    lg->forward(gpu, bg, tg);
    for (size_t k = 0; k < nt; ++k) {
      ASSERT_EQ(tg[k]->shape(), tc[k]->shape()) << "top " << k;
      expect_close(tg[k]->cpu_data(), tc[k]->cpu_data(), tc[k]->count(), opt.tol,
                   "top " + std::to_string(k) + " data");
    }
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
    if (!opt.in_place) {
      for (size_t b = 0; b < nb; ++b) {
        bc[b]->set_diff(T(7));
        bg[b]->set_diff(T(7));
      }
    }
    const std::vector<bool> down(nb, true);
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

}  // namespace crema::test
