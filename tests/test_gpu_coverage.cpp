// The GPU backend covers every layer: each registered layer type has a GPU path in a CUDA build
// (so a --gpu net never meets a layer it must refuse) and none claims one in a CPU-only build.
// A new layer without a GPU path fails here until it has one.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "core/io.h"
#include "ops/registry.h"

namespace crema {
namespace {

// has_gpu_path() needs no setup: a layer built from a LayerParameter with only its type answers.
bool has_gpu_path(const std::string& type) {
  LayerParameter p;
  p.set_type(type);
  p.set_name("coverage");
  return create_layer<float>(p)->has_gpu_path() && create_layer<double>(p)->has_gpu_path();
}

TEST(LayerGpuCoverage, EveryLayerHasAGpuPath) {
  const std::vector<std::string> types = layer_types();
  ASSERT_GT(types.size(), 50u);
  for (const std::string& type : types) {
    if (CREMA_WITH_CUDA)
      EXPECT_TRUE(has_gpu_path(type)) << type << " has no GPU path; a --gpu net with it is refused";
    else
      EXPECT_FALSE(has_gpu_path(type)) << type << " claims a GPU path in a build without CUDA";
  }
}

// Every net of the zoo (train, test and deploy phases alike) is accepted by `--gpu N`.
TEST(LayerGpuCoverage, ZooNetsRunEntirelyOnTheGpu) {
  namespace fs = std::filesystem;
  int nets = 0;
  for (const auto& entry :
       fs::recursive_directory_iterator(fs::path(CREMA_SOURCE_DIR) / "models")) {
    if (entry.path().extension() != ".prototxt" ||
        entry.path().filename().string().find("solver") != std::string::npos)
      continue;
    SCOPED_TRACE(entry.path().string());
    NetParameter np;
    read_text_proto(entry.path().string(), &np);
    ++nets;
    for (const auto& l : np.layer())
      EXPECT_EQ(has_gpu_path(l.type()), CREMA_WITH_CUDA != 0)
          << l.name() << " (" << l.type() << ")";
  }
  EXPECT_GE(nets, 8);
}

}  // namespace
}  // namespace crema
