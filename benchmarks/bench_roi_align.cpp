// ROIAlign forward / forward+backward on the CPU (HTC's RoI head shape): features 2x256x50x50,
// 512 RoIs inside an 800x800 image at spatial_scale 1/16, 7x7 bins, sampling_ratio 2, aligned.
// benchmarks/compare_torch.py times torchvision.ops.roi_align on the same RoIs.
#include <cstdint>

#include "benchmarks/bench_util.h"

namespace crema::bench {
namespace {

constexpr int64_t kRois = 512, kChannels = 256, kSize = 50, kPooled = 7, kRatio = 2;

// splitmix64 -> [0, 1): the torch script draws the same RoIs from the same generator.
double uniform01(uint64_t& s) {
  uint64_t z = (s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return static_cast<double>(z >> 11) * 0x1.0p-53;
}

void fill_rois(Tensor<float>& rois) {
  uint64_t seed = 2024;
  float* r = rois.mutable_cpu_data();
  for (int64_t i = 0; i < kRois; ++i) {
    const double x1 = uniform01(seed) * 700, y1 = uniform01(seed) * 700;
    const double w = 16 + uniform01(seed) * 384, h = 16 + uniform01(seed) * 384;
    r[5 * i] = static_cast<float>(i % 2);
    r[5 * i + 1] = static_cast<float>(x1);
    r[5 * i + 2] = static_cast<float>(y1);
    r[5 * i + 3] = static_cast<float>(x1 + w < 799 ? x1 + w : 799);
    r[5 * i + 4] = static_cast<float>(y1 + h < 799 ? y1 + h : 799);
  }
}

void roi_align_case(benchmark::State& state, bool backward) {
  LayerCase lc(
      "type: 'ROIAlign' roi_align_param { pooled_h: 7 pooled_w: 7 spatial_scale: 0.0625 "
      "sampling_ratio: 2 aligned: true }",
      {{2, kChannels, kSize, kSize}, {kRois, 5}}, 1, static_cast<int>(state.range(0)));
  fill_rois(*lc.bottoms[1]);
  for (auto _ : state) {
    lc.forward();
    if (backward) lc.backward();
  }
  // Per bilinear sample: 4 multiplies and 4 adds forward, the same again backward.
  const double samples = double(kRois) * kChannels * kPooled * kPooled * kRatio * kRatio;
  state.counters["FLOP/s"] = benchmark::Counter(samples * 8 * (backward ? 2 : 1),
                                                benchmark::Counter::kIsIterationInvariantRate);
}

void BM_ROIAlignForward(benchmark::State& s) { roi_align_case(s, false); }
void BM_ROIAlignForwardBackward(benchmark::State& s) { roi_align_case(s, true); }

BENCHMARK(BM_ROIAlignForward)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ROIAlignForwardBackward)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace crema::bench
