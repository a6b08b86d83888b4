// DeformableConvolution v1 / v2 on the CPU (2 threads), in FLOP/s of the equivalent convolution
// (2 * MACs; forward + backward counts 3 times the forward). The shape is the comparison point
// against torchvision.ops.deform_conv2d: 8x64x56x56 input, 3x3 kernel, pad 1, 64 outputs,
// offsets uniform in +-2, mask uniform in (0, 1).
#include <random>

#include "benchmarks/bench_util.h"

namespace crema::bench {
namespace {

void deform_conv_case(benchmark::State& state, bool modulated, bool backward) {
  const int64_t n = 8, c = 64, hw = 56, o = 64, k = 3;
  std::vector<std::vector<int64_t>> shapes{{n, c, hw, hw}, {n, 2 * k * k, hw, hw}};
  if (modulated) shapes.push_back({n, k * k, hw, hw});
  LayerCase lc("type: 'DeformableConvolution' deformable_convolution_param { num_output: " +
                   std::to_string(o) + " kernel_size: 3 pad: 1 modulated: " +
                   (modulated ? "true" : "false") + " weight_filler { type: 'xavier' } }",
               shapes, 1, 2);
  std::mt19937 gen(2);
  std::uniform_real_distribution<float> off(-2, 2), mask(0, 1);
  for (int64_t i = 0; i < lc.bottom[1]->count(); ++i)
    lc.bottom[1]->mutable_cpu_data()[i] = off(gen);
  if (modulated)
    for (int64_t i = 0; i < lc.bottom[2]->count(); ++i)
      lc.bottom[2]->mutable_cpu_data()[i] = mask(gen);
  for (auto _ : state) {
    lc.forward();
    if (backward) lc.backward();
  }
  const double macs = static_cast<double>(n) * o * hw * hw * c * k * k;
  state.counters["FLOP/s"] = benchmark::Counter(2 * macs * (backward ? 3 : 1),
                                                benchmark::Counter::kIsIterationInvariantRate);
}

void BM_DeformConvForward(benchmark::State& s, bool modulated) {
  deform_conv_case(s, modulated, false);
}
void BM_DeformConvForwardBackward(benchmark::State& s, bool modulated) {
  deform_conv_case(s, modulated, true);
}

BENCHMARK_CAPTURE(BM_DeformConvForward, v1, false)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_DeformConvForward, v2, true)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_DeformConvForwardBackward, v1, false)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_DeformConvForwardBackward, v2, true)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace crema::bench
