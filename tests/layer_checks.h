/// Helpers shared by single-bottom layer tests: one forward + backward pass, in-place vs
/// out-of-place, and thread-count invariance.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "tests/test_util.h"

namespace crema::test {

/// The value a float proto field holds for v (references must use it, not v). The volatile
/// store is deliberate: GCC 12.2 at -O2/-O3 vectorizes two adjacent (double)(float) round trips
/// and drops the rounding (tree-slp-vectorize).
inline double f32(double v) {
  volatile float f = static_cast<float>(v);
  return f;
}

/// Formats v for prototxt text without losing digits (std::to_string keeps only 6 decimals).
inline std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.9g", v);
  return buf;
}

/// expect_near against a double-precision reference: |got - want| <= tol * max(1, |want|).
template <class T>
void expect_near_ref(const T* got, const double* want, int64_t n, double tol, const char* what) {
  int reported = 0;
  for (int64_t i = 0; i < n && reported < 5; ++i) {
    const double g = got[i], w = want[i];
    const double err = std::fabs(g - w) / std::max(1.0, std::fabs(w));
    if (!(err <= tol)) {
      ADD_FAILURE() << what << "[" << i << "]: got " << g << ", want " << w << " (rel err " << err
                    << " > " << tol << ")";
      ++reported;
    }
  }
}

/// What one forward + backward pass produced.
template <class T>
struct PassResult {
  std::vector<T> y;                         // top data
  std::vector<T> dx;                        // bottom diff
  std::vector<std::vector<T>> param_diffs;  // each parameter blob's diff (zeroed before)
  std::vector<int64_t> top_shape;
};

/// Uniform values in [-1, 1) from `seed`, used as top diffs.
template <class T>
std::vector<T> random_values(int64_t n, uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<double> u(-1, 1);
  std::vector<T> v(static_cast<size_t>(n));
  for (auto& e : v) e = static_cast<T>(u(gen));
  return v;
}

/// Sets up the layer from `text` on a copy of x (in-place when asked), runs forward, sets the
/// top diff to random values from `dy_seed` and, when `backward`, runs backward with the bottom
/// diff preset to a sentinel (out-of-place) so accumulating into it shows.
template <class T>
PassResult<T> forward_backward(const std::string& text, Context& ctx, const Tensor<T>& x,
                               bool in_place, uint64_t dy_seed = 99, bool backward = true) {
  Tensor<T> bottom, other;
  bottom.copy_from(x, false, true);
  Tensor<T>* top = in_place ? &bottom : &other;
  auto layer = make_layer<T>(text, ctx, {&bottom}, {top});
  layer->forward(ctx, {&bottom}, {top});
  PassResult<T> r;
  r.top_shape = top->shape();
  r.y.assign(top->cpu_data(), top->cpu_data() + top->count());
  if (!backward) return r;
  if (!in_place) bottom.set_diff(T(7));
  const auto dy = random_values<T>(top->count(), dy_seed);
  std::copy(dy.begin(), dy.end(), top->mutable_cpu_diff());
  for (auto& p : layer->blobs()) p->set_diff(T(0));
  layer->backward(ctx, {top}, {true}, {&bottom});
  r.dx.assign(bottom.cpu_diff(), bottom.cpu_diff() + bottom.count());
  for (auto& p : layer->blobs())
    r.param_diffs.emplace_back(p->cpu_diff(), p->cpu_diff() + p->count());
  return r;
}

/// Bitwise equality of two passes (outputs, bottom diffs, parameter diffs).
template <class T>
void expect_same_pass(const PassResult<T>& a, const PassResult<T>& b, const char* what) {
  SCOPED_TRACE(what);
  ASSERT_EQ(a.y.size(), b.y.size());
  ASSERT_EQ(a.dx.size(), b.dx.size());
  EXPECT_EQ(0, std::memcmp(a.y.data(), b.y.data(), sizeof(T) * a.y.size())) << "top data differs";
  EXPECT_EQ(0, std::memcmp(a.dx.data(), b.dx.data(), sizeof(T) * a.dx.size()))
      << "bottom diff differs";
  ASSERT_EQ(a.param_diffs.size(), b.param_diffs.size());
  for (size_t k = 0; k < a.param_diffs.size(); ++k)
    EXPECT_EQ(a.param_diffs[k], b.param_diffs[k]) << "param " << k << " diff differs";
}

/// In-place and out-of-place passes agree bitwise.
template <class T>
void expect_in_place_matches(const std::string& text, const Tensor<T>& x) {
  Context ctx = Context::cpu(1);
  expect_same_pass(forward_backward(text, ctx, x, false), forward_backward(text, ctx, x, true),
                   "in-place vs out-of-place");
}

/// 1 and 2 threads agree bitwise (every body is a GATHER). x should have enough work items to
/// pass parallel_for's serial cutoff.
template <class T>
void expect_thread_invariant(const std::string& text, const Tensor<T>& x) {
  Context one = Context::cpu(1), two = Context::cpu(2);
  expect_same_pass(forward_backward(text, one, x, false), forward_backward(text, two, x, false),
                   "1 vs 2 threads");
}

}  // namespace crema::test
