/// Test helpers for the layers that move an image by a flow field (BackwardWarp, SPMC).
#pragma once

#include <cmath>
#include <random>
#include <vector>

#include "core/layer.h"

namespace crema::test {

/// Flow (N, 2, H, W) in [-amp, amp) whose sample positions scale * (p + flow) stay >= 0.05
/// from any integer: away from the kinks of bilinear weights (and of BORDER's clamp). Scale 1
/// for a warp in input pixels, the SR factor for SPMC's HR grid.
template <class T>
void fill_flow_away_from_integers(Tensor<T>& flow, int scale, double amp, uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<double> u(-amp, amp);
  const int64_t h = flow.shape(2), w = flow.shape(3);
  T* f = flow.mutable_cpu_data();
  for (int64_t i = 0; i < flow.count(); ++i) {
    const int64_t axis = (i / (h * w)) % 2;
    const double base = axis == 0 ? double(i % w) : double((i / w) % h);
    double v, frac;
    do {
      v = u(gen);
      const double s = scale * (base + v);
      frac = s - std::floor(s);
    } while (frac < 0.05 || frac > 0.95);
    f[i] = static_cast<T>(v);
  }
}

/// Output and both input gradients of one forward + backward of an (image, flow) layer.
struct FlowOutputs {
  std::vector<double> y, dimage, dflow;
};

/// Runs forward, then backward from top diff `dy`; the bottom diffs start at a sentinel so a
/// layer that accumulates instead of writing them fails.
template <class T>
FlowOutputs run_with_flow(Layer<T>& layer, Context& ctx, Tensor<T>& image, Tensor<T>& flow,
                          Tensor<T>& y, const std::vector<T>& dy) {
  layer.forward(ctx, {&image, &flow}, {&y});
  std::copy(dy.begin(), dy.end(), y.mutable_cpu_diff());
  image.set_diff(T(7));
  flow.set_diff(T(7));
  layer.backward(ctx, {&y}, {true, true}, {&image, &flow});
  return {std::vector<double>(y.cpu_data(), y.cpu_data() + y.count()),
          std::vector<double>(image.cpu_diff(), image.cpu_diff() + image.count()),
          std::vector<double>(flow.cpu_diff(), flow.cpu_diff() + flow.count())};
}

}  // namespace crema::test
