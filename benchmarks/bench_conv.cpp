// Convolution forward / backward on the CPU, in FLOP/s (2 * MACs).
#include "benchmarks/bench_util.h"

namespace crema::bench {
namespace {

// args: batch, channels, size, outputs, kernel, threads
void conv_case(benchmark::State& state, bool backward) {
  const int64_t n = state.range(0), c = state.range(1), hw = state.range(2), o = state.range(3),
                k = state.range(4);
  LayerCase lc("type: 'Convolution' convolution_param { num_output: " + std::to_string(o) +
                   " kernel_size: " + std::to_string(k) + " pad: " + std::to_string(k / 2) +
                   " weight_filler { type: 'xavier' } }",
               {{n, c, hw, hw}}, 1, static_cast<int>(state.range(5)));
  for (auto _ : state) {
    lc.forward();
    if (backward) lc.backward();
  }
  const double macs = static_cast<double>(n) * o * hw * hw * c * k * k;
  state.counters["FLOP/s"] = benchmark::Counter(2 * macs * (backward ? 3 : 1),
                                                benchmark::Counter::kIsIterationInvariantRate);
}

void BM_ConvForward(benchmark::State& s) { conv_case(s, false); }
void BM_ConvForwardBackward(benchmark::State& s) { conv_case(s, true); }

// LeNet conv2 (batch 64), a VGG-like 3x3 block, and SRCNN's 9x9 first layer.
#define CONV_ARGS                                                       \
  Args({64, 20, 12, 50, 5, 1})->Args({64, 20, 12, 50, 5, 2})             \
      ->Args({8, 64, 56, 64, 3, 2})->Args({1, 1, 128, 64, 9, 2})         \
      ->UseRealTime()->Unit(benchmark::kMillisecond)
BENCHMARK(BM_ConvForward)->CONV_ARGS;
BENCHMARK(BM_ConvForwardBackward)->CONV_ARGS;

void BM_MaxPool(benchmark::State& state) {
  LayerCase lc("type: 'Pooling' pooling_param { pool: MAX kernel_size: 2 stride: 2 }",
               {{64, 20, 24, 24}}, 1, static_cast<int>(state.range(0)));
  for (auto _ : state) {
    lc.forward();
    lc.backward();
  }
  state.counters["bytes/s"] = benchmark::Counter(
      64.0 * 20 * 24 * 24 * 4 * 3, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_MaxPool)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace crema::bench
