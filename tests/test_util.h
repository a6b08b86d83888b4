/// Shared helpers for layer tests: parse a LayerParameter, random inputs, numeric gradient check.
#pragma once

#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/blas.h"
#include "core/layer.h"
#include "ops/registry.h"

namespace crema::test {

/// The shared data folder: $CREMA_SHARED_DATA, else ../shared/data beside the source tree.
inline std::string shared_data_dir() {
  if (const char* env = std::getenv("CREMA_SHARED_DATA"); env && *env) return env;
  return std::string(CREMA_SOURCE_DIR) + "/../shared/data";
}

inline LayerParameter parse_layer(const std::string& text) {
  LayerParameter p;
  if (!google::protobuf::TextFormat::ParseFromString(text, &p))
    throw std::runtime_error("test bug: bad LayerParameter text: " + text);
  return p;
}

/// Fills data with uniform values in [lo, hi).
template <class T>
void fill_uniform(Tensor<T>& t, double lo, double hi, uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<double> u(lo, hi);
  T* d = t.mutable_cpu_data();
  for (int64_t i = 0; i < t.count(); ++i) d[i] = static_cast<T>(u(gen));
}

/// n values uniform in [-1, 1), drawn as fill_uniform draws them.
template <class T>
std::vector<T> random_vector(int64_t n, uint64_t seed) {
  Tensor<T> t({n});
  fill_uniform(t, -1, 1, seed);
  return std::vector<T>(t.cpu_data(), t.cpu_data() + n);
}

/// Fills data with uniform values whose magnitude is at least `gap` (keeps away from kinks at 0).
template <class T>
void fill_away_from_zero(Tensor<T>& t, double gap, double hi, uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<double> u(gap, hi);
  std::bernoulli_distribution sign(0.5);
  T* d = t.mutable_cpu_data();
  for (int64_t i = 0; i < t.count(); ++i) d[i] = static_cast<T>(sign(gen) ? u(gen) : -u(gen));
}

template <class T>
void expect_near(const T* got, const T* want, int64_t n, double tol, const char* what = "") {
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

/// Options of check_gradient.
struct GradCheck {
  double step = 1e-4;        ///< central-difference step
  double tol = 1e-6;         ///< relative tolerance: |a - n| <= tol * max(1, |a|, |n|)
  std::vector<int> bottoms;  ///< bottoms to check; empty = all
  bool params = true;        ///< also check every parameter blob
  uint64_t seed = 7;
};

/// Central-difference gradient check of f = sum_k <top_k, R_k> for a random projection R,
/// against the layer's backward, for every element of the chosen bottoms and parameters.
template <class T>
void check_gradient(Layer<T>& layer, Context& ctx, const TensorVec<T>& bottom,
                    const TensorVec<T>& top, const GradCheck& opt = {}) {
  std::vector<int> which = opt.bottoms;
  if (which.empty())
    for (size_t i = 0; i < bottom.size(); ++i) which.push_back(static_cast<int>(i));
  layer.forward(ctx, bottom, top);
  std::vector<Tensor<T>> proj(top.size());
  for (size_t k = 0; k < top.size(); ++k) {
    proj[k].reshape(top[k]->shape());
    fill_uniform(proj[k], -1, 1, opt.seed + k);
  }
  auto objective = [&]() {
    layer.forward(ctx, bottom, top);
    double f = 0;
    for (size_t k = 0; k < top.size(); ++k)
      for (int64_t i = 0; i < top[k]->count(); ++i)
        f += static_cast<double>(top[k]->cpu_data()[i]) * proj[k].cpu_data()[i];
    return f;
  };
  // Analytic gradient. Bottom diffs start as a sentinel so a layer that accumulates into them
  // instead of writing them fails the check.
  std::vector<bool> down(bottom.size(), false);
  for (int b : which) down[b] = true;
  for (auto* b : bottom) b->set_diff(T(7));
  for (auto& p : layer.blobs()) p->set_diff(T(0));
  // Re-run forward so top data is the layer's own output, then restore the projection as diff.
  layer.forward(ctx, bottom, top);
  for (size_t k = 0; k < top.size(); ++k)
    std::copy(proj[k].cpu_data(), proj[k].cpu_data() + proj[k].count(), top[k]->mutable_cpu_diff());
  layer.backward(ctx, top, down, bottom);

  auto check_tensor = [&](Tensor<T>& x, const std::vector<T>& analytic, const std::string& what) {
    int failures = 0;
    T* d = x.mutable_cpu_data();
    for (int64_t i = 0; i < x.count(); ++i) {
      const T saved = d[i];
      d[i] = saved + static_cast<T>(opt.step);
      const double fp = objective();
      d[i] = saved - static_cast<T>(opt.step);
      const double fm = objective();
      d[i] = saved;
      const double numeric = (fp - fm) / (2 * opt.step);
      const double a = analytic[i];
      const double scale = std::max({1.0, std::fabs(a), std::fabs(numeric)});
      if (!(std::fabs(a - numeric) <= opt.tol * scale) && failures++ < 5)
        ADD_FAILURE() << what << "[" << i << "]: analytic " << a << " vs numeric " << numeric;
    }
    if (failures > 5) ADD_FAILURE() << what << ": " << failures << " mismatches in all";
  };
  for (int b : which) {
    std::vector<T> a(bottom[b]->cpu_diff(), bottom[b]->cpu_diff() + bottom[b]->count());
    check_tensor(*bottom[b], a, "bottom " + std::to_string(b) + " diff");
  }
  if (opt.params) {
    for (size_t p = 0; p < layer.blobs().size(); ++p) {
      if (!layer.param_propagate_down(static_cast<int>(p))) continue;
      auto& blob = *layer.blobs()[p];
      std::vector<T> a(blob.cpu_diff(), blob.cpu_diff() + blob.count());
      check_tensor(blob, a, "param " + std::to_string(p) + " diff");
    }
  }
}

/// Creates a layer from prototxt text and sets it up on the given blobs.
template <class T>
std::unique_ptr<Layer<T>> make_layer(const std::string& text, Context& ctx,
                                     const TensorVec<T>& bottom, const TensorVec<T>& top) {
  auto layer = create_layer<T>(parse_layer(text));
  layer->setup(ctx, bottom, top);
  return layer;
}

}  // namespace crema::test
