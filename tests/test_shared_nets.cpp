// Every net prototxt in ../shared/data either builds and runs a forward pass with random weights
// (Data layers read a small synthetic LMDB of the right shape) or fails with one clear message
// naming the unsupported layer type and its file:line.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "core/io.h"
#include "core/net.h"
#include "tests/data_test_util.h"

namespace crema {
namespace {

namespace fs = std::filesystem;

// Input shape (C, H, W) of the Data layers of the shared train/test nets.
std::vector<int> data_shape(const std::string& file) {
  if (file.find("cifar10") != std::string::npos) return {3, 32, 32};
  if (file.find("lenet") != std::string::npos || file.find("mnist") != std::string::npos)
    return {1, 28, 28};
  return {};
}

TEST(SharedNets, EachBuildsAndRunsOrNamesWhatIsUnsupported) {
  test::TempDir tmp;
  int ran = 0, unsupported = 0;
  for (const auto& e : fs::recursive_directory_iterator(test::shared_data_dir())) {
    const fs::path f = e.path();
    if (f.extension() != ".prototxt" || f.filename().string().find("solver") != std::string::npos)
      continue;
    for (Phase phase : {TRAIN, TEST}) {
      SCOPED_TRACE(f.string() + (phase == TRAIN ? " (TRAIN)" : " (TEST)"));
      NetParameter np;
      TextLocations where;
      read_text_proto(f.string(), &np, &where);
      for (auto& l : *np.mutable_layer()) {
        if (l.type() != "Data") continue;
        const auto chw = data_shape(f.string());
        ASSERT_EQ(chw.size(), 3u) << "no data shape known for " << f;
        const std::string db = tmp / (l.name() + std::to_string(ran) + std::to_string(phase));
        if (!fs::exists(db))
          test::write_synthetic_lmdb(db, 8, chw[0], chw[1], chw[2],
                                     [](int i, int c, int h, int w) { return (i * 7 + c + h * w) % 256; });
        l.mutable_data_param()->set_source(db);
        l.mutable_data_param()->set_batch_size(4);
        l.mutable_transform_param()->clear_mean_file();  // Caffe's mean files are not shipped
      }
      NetState state;
      state.set_phase(phase);
      Context ctx = Context::cpu(0);
      try {
        Net<float> net(np, ctx, state, &where);
        // Big deploy inputs (256x256) shrink to 64x64 so the suite stays fast.
        for (size_t l = 0; l < net.layers().size(); ++l)
          if (std::string(net.layers()[l]->type()) == "Input")
            for (auto* t : net.top_vecs()[l]) {
              if (t->num_axes() == 4 && t->shape(2) > 64)
                t->reshape({t->shape(0), t->shape(1), 64, 64});
              test::fill_uniform(*t, 0, 1, 5);
            }
        net.reshape();
        net.forward();
        for (int b : net.output_blob_indices()) {
          const auto& blob = *net.blobs()[b];
          for (int64_t i = 0; i < blob.count(); ++i)
            ASSERT_TRUE(std::isfinite(blob.cpu_data()[i])) << net.blob_names()[b];
        }
        ++ran;
      } catch (const ConfigError& err) {
        const std::string m = err.what();
        EXPECT_NE(m.find("is not supported by Crema"), std::string::npos) << m;
        EXPECT_NE(m.find(f.string() + ":"), std::string::npos) << m;  // file:line
        ++unsupported;
      }
    }
  }
  std::printf("shared nets: %d builds ran forward, %d named an unsupported layer\n", ran,
              unsupported);
  EXPECT_GE(ran, 16);
}

}  // namespace
}  // namespace crema
