// BackwardWarp forward / forward+backward on the CPU (2 threads): an 8 x 64 x 128 x 128 image
// warped by a random flow within +-3 px, ZEROS padding, align_corners false. Compare with
// torch.nn.functional.grid_sample on 2 threads: benchmarks/compare_torch.py.
#include "benchmarks/bench_util.h"

namespace crema::bench {
namespace {

constexpr int64_t kN = 8, kC = 64, kH = 128, kW = 128;

void warp_case(benchmark::State& state, bool backward) {
  LayerCase lc("type: 'BackwardWarp' backward_warp_param { padding: ZEROS align_corners: false }",
               {{kN, kC, kH, kW}, {kN, 2, kH, kW}}, 1, 2);
  // Flow uniform in [-3, 3) px.
  lc.bottom[1]->scale_data(3.f);
  for (auto _ : state) {
    lc.forward();
    if (backward) lc.backward();
  }
  // Image read and output written once per pass (plus the flow); backward reads dy, x and the
  // flow and writes dx and dflow.
  const double image = 4.0 * kN * kC * kH * kW, flow = 4.0 * kN * 2 * kH * kW;
  const double bytes = 2 * image + flow + (backward ? 3 * image + 3 * flow : 0);
  state.counters["bytes/s"] =
      benchmark::Counter(bytes, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["pixels/s"] =
      benchmark::Counter(double(kN) * kC * kH * kW, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_BackwardWarpForward(benchmark::State& s) { warp_case(s, false); }
void BM_BackwardWarpForwardBackward(benchmark::State& s) { warp_case(s, true); }

BENCHMARK(BM_BackwardWarpForward)
    ->MeasureProcessCPUTime()
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_BackwardWarpForwardBackward)
    ->MeasureProcessCPUTime()
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace crema::bench
