/// Helpers for layer benchmarks: build a layer from prototxt text on random inputs.
#pragma once

#include <benchmark/benchmark.h>
#include <google/protobuf/text_format.h>

#include <memory>
#include <random>
#include <vector>

#include "core/layer.h"
#include "ops/registry.h"

namespace crema::bench {

/// A layer set up on bottoms of the given shapes, filled with uniform noise.
struct LayerCase {
  Context ctx;
  std::vector<std::unique_ptr<Tensor<float>>> bottoms, tops;
  TensorVec<float> bottom, top;
  std::unique_ptr<Layer<float>> layer;

  /// `device` >= 0 runs the layer on that CUDA device (Context::gpu).
  LayerCase(const std::string& text, const std::vector<std::vector<int64_t>>& shapes, int tops_n,
            int threads, int device = -1)
      : ctx(device >= 0 ? Context::gpu(device, threads) : Context::cpu(threads)) {
    LayerParameter p;
    google::protobuf::TextFormat::ParseFromString(text, &p);
    std::mt19937 gen(1);
    std::uniform_real_distribution<float> u(-1, 1);
    for (const auto& s : shapes) {
      bottoms.push_back(std::make_unique<Tensor<float>>(s));
      for (int64_t i = 0; i < bottoms.back()->count(); ++i)
        bottoms.back()->mutable_cpu_data()[i] = u(gen);
      bottom.push_back(bottoms.back().get());
    }
    for (int i = 0; i < tops_n; ++i) {
      tops.push_back(std::make_unique<Tensor<float>>());
      top.push_back(tops.back().get());
    }
    layer = create_layer<float>(p);
    layer->setup(ctx, bottom, top);
    for (auto* t : top) t->set_diff(1.f);
  }
  void forward() { layer->forward(ctx, bottom, top); }
  void backward() { layer->backward(ctx, top, std::vector<bool>(bottom.size(), true), bottom); }
};

}  // namespace crema::bench
