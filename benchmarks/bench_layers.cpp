// The standard layer cases on the CPU and, where a CUDA device is present, on the GPU: forward +
// backward per iteration, GPU time from CUDA events on the layer's stream. Counters: FLOP/s for
// the GEMM-shaped layers, bytes/s (bytes read and written by forward and backward) for the rest.
#include <functional>
#include <string>

#include "benchmarks/bench_util.h"
#include "core/cuda_device.h"
#include "core/timer.h"

namespace crema::bench {
namespace {

struct Case {
  const char* name;
  std::string layer;
  std::vector<std::vector<int64_t>> shapes;
  double work;       // per forward + backward
  bool flops;        // work is FLOPs (else bytes)
};

std::vector<Case> cases() {
  const double f = 4;  // bytes per float
  return {
      {"ReLU/64x64x56x56", "type: 'ReLU'", {{64, 64, 56, 56}}, 64.0 * 64 * 56 * 56 * f * 5, false},
      {"Sigmoid/64x64x56x56", "type: 'Sigmoid'", {{64, 64, 56, 56}}, 64.0 * 64 * 56 * 56 * f * 5,
       false},
      {"InnerProduct/64x4096->1000",
       "type: 'InnerProduct' inner_product_param { num_output: 1000 weight_filler { type: "
       "'xavier' } }",
       {{64, 4096}}, 3 * 2.0 * 64 * 4096 * 1000, true},
      {"Convolution/8x64x56x56_3x3->64",
       "type: 'Convolution' convolution_param { num_output: 64 kernel_size: 3 pad: 1 "
       "weight_filler { type: 'xavier' } }",
       {{8, 64, 56, 56}}, 3 * 2.0 * 8 * 64 * 56 * 56 * 64 * 9, true},
      {"Pooling/MAX_2x2_64x64x56x56",
       "type: 'Pooling' pooling_param { pool: MAX kernel_size: 2 stride: 2 }", {{64, 64, 56, 56}},
       64.0 * 64 * 56 * 56 * f * 2.5, false},
      {"Softmax/256x1000", "type: 'Softmax'", {{256, 1000}}, 256.0 * 1000 * f * 5, false},
      {"BatchNorm/32x64x28x28", "type: 'BatchNorm'", {{32, 64, 28, 28}},
       32.0 * 64 * 28 * 28 * f * 7, false},
      {"LRN/8x96x27x27", "type: 'LRN' lrn_param { local_size: 5 }", {{8, 96, 27, 27}},
       8.0 * 96 * 27 * 27 * f * 6, false},
  };
}

void run(benchmark::State& state, const Case& c, bool gpu) {
  std::string why;
  if (gpu && cuda_devices(&why).empty()) {
    state.SkipWithError(("no CUDA device: " + why).c_str());
    return;
  }
  LayerCase lc(c.layer, c.shapes, 1, 2, gpu ? 0 : -1);
  if (gpu && !lc.layer->has_gpu_path()) {
    state.SkipWithError("this layer has no GPU path yet");
    return;
  }
  StreamTimer timer(lc.ctx);
  for (auto _ : state) {
    timer.start();
    lc.forward();
    lc.backward();
    timer.stop();
    state.SetIterationTime(timer.elapsed_ms() / 1000);
  }
  state.counters[c.flops ? "FLOP/s" : "bytes/s"] =
      benchmark::Counter(c.work, benchmark::Counter::kIsIterationInvariantRate);
}

// Registered at start-up: one CPU (2 threads) and one GPU benchmark per case.
const bool registered = [] {
  for (const Case& c : cases())
    for (bool gpu : {false, true})
      benchmark::RegisterBenchmark((std::string("BM_Layer/") + c.name + (gpu ? "/gpu" : "/cpu")).c_str(),
                                   [c, gpu](benchmark::State& s) { run(s, c, gpu); })
          ->UseManualTime()
          ->Unit(benchmark::kMillisecond);
  return true;
}();

}  // namespace
}  // namespace crema::bench
