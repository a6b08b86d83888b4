// Every prototxt under ../shared/data parses (solvers as SolverParameter, nets as NetParameter,
// legacy input/input_dim included), and every net builds in both phases or names what it lacks.
#include <gtest/gtest.h>

#include <filesystem>

#include "core/io.h"
#include "core/net.h"
#include "tests/test_util.h"

namespace crema {
namespace {

namespace fs = std::filesystem;

std::vector<fs::path> prototxts() {
  std::vector<fs::path> out;
  for (const auto& e : fs::recursive_directory_iterator(test::shared_data_dir()))
    if (e.is_regular_file() && e.path().extension() == ".prototxt") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

bool is_solver(const fs::path& p) {
  return p.filename().string().find("solver") != std::string::npos;
}

TEST(PrototxtFiles, AllSharedPrototxtsParse) {
  const auto files = prototxts();
  ASSERT_GE(files.size(), 10u) << "shared data not found at " << test::shared_data_dir();
  int nets = 0, solvers = 0;
  for (const auto& f : files) {
    SCOPED_TRACE(f.string());
    if (is_solver(f)) {
      SolverParameter sp;
      EXPECT_NO_THROW(read_text_proto(f.string(), &sp));
      EXPECT_TRUE(sp.has_base_lr());
      ++solvers;
    } else {
      NetParameter np;
      EXPECT_NO_THROW(read_text_proto(f.string(), &np));
      EXPECT_TRUE(np.layer_size() > 0 || np.layers_size() > 0);
      ++nets;
    }
  }
  EXPECT_GE(solvers, 3);
  EXPECT_GE(nets, 10);
}

TEST(PrototxtFiles, LegacyInputDimNetBuilds) {
  // OpenCV's SqueezeNet deploy file declares its input with `input:` and `input_dim:`.
  NetParameter np;
  read_text_proto(test::shared_data_dir() + "/caffe_prototxts/opencv_SqueezeNet_deploy.prototxt",
                  &np);
  ASSERT_GT(np.input_size(), 0);
  ASSERT_EQ(np.input_dim_size(), 4);
  Context ctx = Context::cpu(1);
  // Build only up to what Crema supports at this point; the input layer must come out right.
  NetParameter head = np;
  head.clear_layer();
  *head.add_layer() = np.layer(0);
  NetState st;
  st.set_phase(TEST);
  Net<float> net(head, ctx, st);
  EXPECT_EQ(net.blob_by_name(np.input(0))->num_axes(), 4);
  EXPECT_EQ(net.blob_by_name(np.input(0))->shape(1), np.input_dim(1));
}

TEST(PrototxtFiles, CaffeLenetDeployRunsWithRandomWeights) {
  Context ctx = Context::cpu(1);
  Net<float> net(test::shared_data_dir() + "/lenet_caffe/mnist_deploy.prototxt", ctx, TEST);
  test::fill_uniform(*net.blob_by_name("data"), 0, 1, 1);
  net.forward();
  const auto& prob = *net.blobs()[net.output_blob_indices().at(0)];
  double sum = 0;
  for (int i = 0; i < prob.count(); ++i) sum += prob.cpu_data()[i];
  EXPECT_NEAR(sum, 1.0, 1e-5);
}

}  // namespace
}  // namespace crema
