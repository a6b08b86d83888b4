// MATLAB .mat reading (libmatio) and the official SRCNN weights loaded into a Crema net.
#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>
#include <matio.h>

#include <cmath>
#include <filesystem>
#include <random>

#include "core/mat_weights.h"
#include "core/net.h"
#include "tests/data_test_util.h"
#include "tests/reference/sr_ref.h"
#include "tests/test_util.h"

namespace crema {
namespace {

std::string official(const std::string& rel) {
  return test::shared_data_dir() + "/srcnn_models/official_matlab/" + rel;
}

// An SRCNN-shaped net: conv1 k1 x k1 -> n1, conv2 k2 x k2 -> n2, conv3 k3 x k3 -> 1, each
// behind a REPLICATE Pad (the official SRCNN.m's imfilter 'same' 'replicate').
std::string srcnn_net(int k1, int n1, int k2, int n2, int k3, int h, int w) {
  auto pad = [](const std::string& name, const std::string& in, int k) {
    return "layer { name: '" + name + "' type: 'Pad' bottom: '" + in + "' top: '" + name +
           "' pad_param { pad: " + std::to_string(k / 2) + " mode: REPLICATE } }\n";
  };
  auto conv = [](const std::string& name, const std::string& in, int n, int k) {
    return "layer { name: '" + name + "' type: 'Convolution' bottom: '" + in + "' top: '" + name +
           "' convolution_param { num_output: " + std::to_string(n) +
           " kernel_size: " + std::to_string(k) + " } }\n";
  };
  return "name: 'tiny' layer { name: 'data' type: 'Input' top: 'data' input_param { shape { "
         "dim: 1 dim: 1 dim: " +
         std::to_string(h) + " dim: " + std::to_string(w) + " } } }\n" + pad("p1", "data", k1) +
         conv("conv1", "p1", n1, k1) +
         "layer { name: 'r1' type: 'ReLU' bottom: 'conv1' top: 'conv1' }\n" +
         pad("p2", "conv1", k2) + conv("conv2", "p2", n2, k2) +
         "layer { name: 'r2' type: 'ReLU' bottom: 'conv2' top: 'conv2' }\n" +
         pad("p3", "conv2", k3) + conv("conv3", "p3", 1, k3);
}

std::unique_ptr<Net<double>> build(const std::string& text, Context& ctx) {
  NetParameter np;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &np));
  NetState state;
  state.set_phase(TEST);
  return std::make_unique<Net<double>>(np, ctx, state);
}

struct MatVar {
  std::string name;
  std::vector<size_t> dims;
  std::vector<double> data;
};

void write_mat(const std::string& path, const std::vector<MatVar>& vars) {
  mat_t* mat = Mat_CreateVer(path.c_str(), nullptr, MAT_FT_MAT5);
  ASSERT_NE(mat, nullptr);
  for (const auto& v : vars) {
    std::vector<size_t> dims = v.dims;
    std::vector<double> data = v.data;
    matvar_t* mv = Mat_VarCreate(v.name.c_str(), MAT_C_DOUBLE, MAT_T_DOUBLE,
                                 static_cast<int>(dims.size()), dims.data(), data.data(), 0);
    ASSERT_NE(mv, nullptr);
    EXPECT_EQ(Mat_VarWrite(mat, mv, MAT_COMPRESSION_NONE), 0);
    Mat_VarFree(mv);
  }
  Mat_Close(mat);
}

std::vector<double> random_values(size_t n, uint64_t seed, double scale = 0.5) {
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<double> u(-scale, scale);
  std::vector<double> v(n);
  for (double& x : v) x = u(gen);
  return v;
}

// Weights for a tiny SRCNN (k1 3, n1 2, k2 3, n2 3, k3 3) in the official layout.
std::vector<MatVar> tiny_weights() {
  return {{"weights_conv1", {9, 2}, random_values(18, 1)},
          {"biases_conv1", {2, 1}, {0.1, 0.05}},
          {"weights_conv2", {2, 9, 3}, random_values(54, 2)},
          {"biases_conv2", {3, 1}, {0.2, -0.01, 0.1}},
          {"weights_conv3", {3, 9}, random_values(27, 3)},
          {"biases_conv3", {1, 1}, {0.3}}};
}

TEST(MatWeights, ReadsTheOfficialSrcnnFile) {
  const auto vars = read_mat_file(official("9-5-5_imagenet/x3.mat"));
  ASSERT_EQ(vars.size(), 6u);
  const std::map<std::string, std::string> want = {
      {"weights_conv1", "81x64"}, {"biases_conv1", "64x1"},   {"weights_conv2", "64x25x32"},
      {"biases_conv2", "32x1"},   {"weights_conv3", "32x25"}, {"biases_conv3", "1x1"}};
  for (const auto& [name, dims] : want) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(vars.count(name));
    const MatArray& a = vars.at(name);
    EXPECT_EQ(a.dims_string(), dims);
    int64_t n = 1;
    for (int64_t d : a.dims) n *= d;
    ASSERT_EQ(static_cast<int64_t>(a.data.size()), n);
    double energy = 0;
    for (double v : a.data) {
      ASSERT_TRUE(std::isfinite(v));
      energy += v * v;
    }
    EXPECT_GT(energy, 0);  // not a zero-filled read
  }
}

TEST(MatWeights, RoundTripsValuesAndDimsWrittenByLibmatio) {
  test::TempDir dir;
  const std::vector<MatVar> vars = {{"a", {2, 3}, {1, 2, 3, 4, 5, 6}},
                                    {"b", {2, 1, 2}, {-1, 0.5, 7, 8}}};
  write_mat(dir / "x.mat", vars);
  const auto got = read_mat_file(dir / "x.mat");
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got.at("a").dims, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(got.at("a").data, vars[0].data);
  // Column-major: a(1, 2) (0-based) is the 6th value.
  EXPECT_EQ(got.at("a").at(1, 2), 6);
  EXPECT_EQ(got.at("b").dims, (std::vector<int64_t>{2, 1, 2}));
  EXPECT_EQ(got.at("b").at(0, 0, 1), 7);
}

// The loaded net must compute what SRCNN.m computes with the same arrays.
void expect_net_matches_matlab(const std::string& mat_path, int k1, int n1, int k2, int n2, int k3,
                               int h, int w, double tol) {
  Context ctx = Context::cpu(1);
  auto net = build(srcnn_net(k1, n1, k2, n2, k3, h, w), ctx);
  load_srcnn_mat_weights(mat_path, *net);
  const auto vars = read_mat_file(mat_path);
  std::vector<double> img = random_values(h * w, 9, 0.5);
  for (double& v : img) v += 0.5;
  Tensor<double>* in = net->blob_by_name("data").get();
  std::copy(img.begin(), img.end(), in->mutable_cpu_data());
  net->forward();
  const Tensor<double>& out = *net->blob_by_name("conv3");
  ASSERT_EQ(out.shape(), (std::vector<int64_t>{1, 1, h, w}));
  const auto want =
      ref::srcnn_matlab(img, h, w, vars.at("weights_conv1").data, vars.at("biases_conv1").data, k1,
                        n1, vars.at("weights_conv2").data, vars.at("biases_conv2").data, k2, n2,
                        vars.at("weights_conv3").data, vars.at("biases_conv3").data[0], k3);
  double max_err = 0, max_abs = 0;
  for (int64_t i = 0; i < h * w; ++i) {
    max_err = std::max(max_err, std::fabs(out.cpu_data()[i] - want[i]));
    max_abs = std::max(max_abs, std::fabs(want[i]));
  }
  EXPECT_LT(max_err, tol) << "output magnitude " << max_abs;
  EXPECT_GT(max_abs, 1e-3);
}

TEST(MatWeights, TinyNetMatchesMatlabSrcnnForward) {
  test::TempDir dir;
  write_mat(dir / "tiny.mat", tiny_weights());
  // Non-square image, so a transposed kernel or swapped H / W shows.
  expect_net_matches_matlab(dir / "tiny.mat", 3, 2, 3, 3, 3, 7, 11, 1e-12);
}

TEST(MatWeights, Official955MatchesMatlabSrcnnForward) {
  expect_net_matches_matlab(official("9-5-5_imagenet/x3.mat"), 9, 64, 5, 32, 5, 13, 18, 1e-10);
}

TEST(MatWeights, Official915MatchesMatlabSrcnnForward) {
  expect_net_matches_matlab(official("9-1-5_91images/x3.mat"), 9, 64, 1, 32, 5, 12, 9, 1e-10);
}

TEST(MatWeights, ClearErrors) {
  test::TempDir dir;
  Context ctx = Context::cpu(1);
  auto tiny = build(srcnn_net(3, 2, 3, 3, 3, 8, 8), ctx);
  auto message = [](auto&& f) -> std::string {
    try {
      f();
    } catch (const Error& e) {
      return e.what();
    }
    return "no error";
  };
  // A missing variable is named.
  auto vars = tiny_weights();
  vars.erase(vars.begin() + 3);  // biases_conv2
  write_mat(dir / "missing.mat", vars);
  EXPECT_THROW(load_srcnn_mat_weights(dir / "missing.mat", *tiny), DataError);
  EXPECT_NE(message([&] {
              load_srcnn_mat_weights(dir / "missing.mat", *tiny);
            }).find("'biases_conv2' is missing"),
            std::string::npos);
  // 9-5-5 weights into a 9-1-5 net: weights_conv2 does not fit, expected vs got.
  auto n915 = build(srcnn_net(9, 64, 1, 32, 5, 16, 16), ctx);
  const std::string m =
      message([&] { load_srcnn_mat_weights(official("9-5-5_imagenet/x3.mat"), *n915); });
  EXPECT_NE(m.find("weights_conv2"), std::string::npos) << m;
  EXPECT_NE(m.find("64x25x32"), std::string::npos) << m;
  EXPECT_NE(m.find("64x1x32"), std::string::npos) << m;
  EXPECT_THROW(load_srcnn_mat_weights(official("9-5-5_imagenet/x3.mat"), *n915), DataError);
  // Not a .mat file; no file at all.
  write_file_atomic(dir / "text.mat", "this is not a MATLAB file, just some text to read\n");
  EXPECT_THROW(read_mat_file(dir / "text.mat"), DataError);
  EXPECT_THROW(read_mat_file(dir / "absent.mat"), DataError);
  // A complex variable.
  {
    mat_t* mat = Mat_CreateVer((dir / "complex.mat").c_str(), nullptr, MAT_FT_MAT5);
    ASSERT_NE(mat, nullptr);
    double re[2] = {1, 2}, im[2] = {3, 4};
    mat_complex_split_t z = {re, im};
    size_t dims[2] = {2, 1};
    matvar_t* mv = Mat_VarCreate("z", MAT_C_DOUBLE, MAT_T_DOUBLE, 2, dims, &z, MAT_F_COMPLEX);
    ASSERT_NE(mv, nullptr);
    Mat_VarWrite(mat, mv, MAT_COMPRESSION_NONE);
    Mat_VarFree(mv);
    Mat_Close(mat);
  }
  EXPECT_THROW(read_mat_file(dir / "complex.mat"), DataError);
  // A net without conv2.
  auto no_conv2 = build(
      "name: 'x' layer { name: 'data' type: 'Input' top: 'data' input_param { shape { dim: 1 "
      "dim: 1 dim: 8 dim: 8 } } }\n"
      "layer { name: 'conv1' type: 'Convolution' bottom: 'data' top: 'c1' convolution_param { "
      "num_output: 2 kernel_size: 3 pad: 1 } }\n"
      "layer { name: 'conv3' type: 'Convolution' bottom: 'c1' top: 'c3' convolution_param { "
      "num_output: 1 kernel_size: 3 pad: 1 } }",
      ctx);
  write_mat(dir / "tiny.mat", tiny_weights());
  EXPECT_THROW(load_srcnn_mat_weights(dir / "tiny.mat", *no_conv2), ConfigError);
}

}  // namespace
}  // namespace crema
