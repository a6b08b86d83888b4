// The honest state of the GPU backend: every registered layer type either has a GPU path
// (has_gpu_path(), so a --gpu net may use it) or is listed in kCpuOnlyLayers with the reason.
// Writing a layer's GPU path makes this test fail until the layer leaves the list, and a new
// layer without one fails until it is listed, so the list (and README's "### GPU") stays true.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "core/io.h"
#include "ops/registry.h"

namespace crema {
namespace {

constexpr const char* kNotYet = "GPU path not written yet";
constexpr const char* kLaunchersOnly =
    "its kernel bodies have CUDA launchers (cuda_kernels/*.cu), but the layer's "
    "forward_gpu/backward_gpu are not written yet";

const std::map<std::string, std::string>& cpu_only_layers() {
  static const std::map<std::string, std::string> kCpuOnlyLayers = {
      {"ArgMax", kNotYet},
      {"BN", kNotYet},
      {"Crop", kNotYet},
      {"DenseCRF", kLaunchersOnly},
      {"Embed", kNotYet},
      {"GatedMessagePassing", kLaunchersOnly},
      {"Interp", kNotYet},
      {"LSTM", kNotYet},
      {"MVN", kNotYet},
      {"Pad", kNotYet},
      {"Reduction", kNotYet},
      {"Tile", kNotYet},
      {"Upsample", kNotYet},
  };
  return kCpuOnlyLayers;
}

// has_gpu_path() needs no setup: a layer built from a LayerParameter with only its type answers.
bool has_gpu_path(const std::string& type) {
  LayerParameter p;
  p.set_type(type);
  p.set_name("coverage");
  return create_layer<float>(p)->has_gpu_path() && create_layer<double>(p)->has_gpu_path();
}

TEST(LayerGpuCoverage, EveryLayerHasAGpuPathOrIsListed) {
  for (const std::string& type : layer_types()) {
    SCOPED_TRACE(type);
    const bool listed = cpu_only_layers().count(type) > 0;
    const bool gpu = has_gpu_path(type);
    if (!CREMA_WITH_CUDA) {
      EXPECT_FALSE(gpu) << type << " claims a GPU path in a build without CUDA";
    } else if (listed) {
      EXPECT_FALSE(gpu) << type << " has a GPU path now; remove it from kCpuOnlyLayers in "
                        << "tests/test_gpu_coverage.cpp and list it in README.md (### GPU)";
    } else {
      EXPECT_TRUE(gpu) << type << " has no GPU path; write one, or add it to kCpuOnlyLayers in "
                       << "tests/test_gpu_coverage.cpp with the reason";
    }
  }
}

TEST(LayerGpuCoverage, ListedLayersAreRegistered) {
  const std::vector<std::string> types = layer_types();
  for (const auto& [type, reason] : cpu_only_layers()) {
    EXPECT_NE(std::find(types.begin(), types.end(), type), types.end())
        << type << " is in kCpuOnlyLayers but not a registered layer type; remove it";
    EXPECT_FALSE(reason.empty()) << type;
  }
}

TEST(LayerGpuCoverage, PointwiseLayersHaveGpuPaths) {
  // The layers whose GPU paths exist (README.md, ### GPU); a CPU-only build has none.
  for (const char* type : {"AbsVal", "BNLL", "Bias", "Dropout", "ELU", "Eltwise", "Exp", "Log",
                           "PReLU", "Power", "ReLU", "Scale", "Sigmoid", "TanH", "Threshold"}) {
    EXPECT_EQ(has_gpu_path(type), CREMA_WITH_CUDA != 0) << type;
    EXPECT_EQ(cpu_only_layers().count(type), 0u) << type;
  }
}

// Whole nets of the zoo whose every layer (train and test phase) has a GPU path, so
// `crema train --gpu N` accepts them at start-up.
TEST(LayerGpuCoverage, LenetRunsEntirelyOnTheGpu) {
  NetParameter np;
  read_text_proto(std::string(CREMA_SOURCE_DIR) + "/models/lenet/train_val.prototxt", &np);
  ASSERT_GT(np.layer_size(), 0);
  for (const auto& l : np.layer())
    EXPECT_EQ(has_gpu_path(l.type()), CREMA_WITH_CUDA != 0) << l.name() << " (" << l.type() << ")";
}

}  // namespace
}  // namespace crema
