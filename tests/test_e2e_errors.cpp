// The catalogue of user mistakes: each makes `crema` exit 1 with one clear message that names
// what and where, never a crash, an abort, a stack dump or a hang.
#include <gtest/gtest.h>

#include "core/db.h"
#include "tests/data_test_util.h"
#include "tests/e2e_util.h"

namespace crema {
namespace {

using test::run_crema;
using test::write_text;
namespace fs = std::filesystem;

struct Case {
  const char* name;
  std::string setup_net;     // written to net.prototxt when non-empty
  std::string setup_solver;  // written to solver.prototxt when non-empty
  std::string args;          // crema arguments; $D is the scratch dir
  std::vector<std::string> expect;  // substrings the message must contain
};

const std::string kGoodNet = R"(name: "t"
layer { name: "in" type: "Input" top: "x" top: "y" input_param { shape { dim: 2 dim: 3 } } }
layer { name: "ip" type: "InnerProduct" bottom: "x" top: "o" inner_product_param { num_output: 3 } }
layer { name: "loss" type: "EuclideanLoss" bottom: "o" bottom: "y" top: "loss" }
)";

std::string with_dir(std::string s, const std::string& dir) {
  for (size_t p; (p = s.find("$D")) != std::string::npos;) s.replace(p, 2, dir);
  return s;
}

void check_clean_failure(const test::RunResult& r, const std::vector<std::string>& expect,
                         const std::string& what) {
  EXPECT_EQ(r.code, 1) << what << "\n" << r.output;
  for (const auto& e : expect)
    EXPECT_NE(r.output.find(e), std::string::npos) << what << ": missing '" << e << "' in\n"
                                                   << r.output;
  for (const char* bad : {"terminate called", "Aborted", "Segmentation", "core dumped", "#0 ",
                          "what():", "AddressSanitizer"})
    EXPECT_EQ(r.output.find(bad), std::string::npos) << what << ": crash signature\n" << r.output;
  EXPECT_NE(r.output.find("crema: error: "), std::string::npos) << what << "\n" << r.output;
}

void run_case(const Case& c) {
  const fs::path dir = test::scratch_dir(std::string("err_") + c.name);
  if (!c.setup_net.empty()) write_text(dir / "net.prototxt", with_dir(c.setup_net, dir.string()));
  if (!c.setup_solver.empty())
    write_text(dir / "solver.prototxt", with_dir(c.setup_solver, dir.string()));
  const auto r = run_crema(with_dir(c.args, dir.string()));
  std::vector<std::string> expect;
  for (const auto& e : c.expect) expect.push_back(with_dir(e, dir.string()));
  check_clean_failure(r, expect, c.name);
}

std::string solver_for(const std::string& extra) {
  return "net: \"$D/net.prototxt\" base_lr: 0.01 max_iter: 10 snapshot_after_train: false " +
         extra;
}

const std::vector<Case>& cases() {
  static const std::vector<Case> all = {
      {"syntax_error", "layer { name: \"a\" type: \"Input\" top: \"x\"\n  input_param { shape { dim: 2 }\n",
       "", "time --model $D/net.prototxt", {"$D/net.prototxt:3:1", "expected a NetParameter"}},
      {"unknown_type", "layer { name: \"c\" type: \"Convolutoin\" top: \"x\" }\n", "",
       "time --model $D/net.prototxt", {"unknown layer type 'Convolutoin'", "did you mean 'Convolution'", "net.prototxt:1"}},
      {"unknown_field", "layer { name: \"c\" type: \"ReLU\" kernel_size: 3 }\n", "",
       "time --model $D/net.prototxt", {"net.prototxt:1:", "kernel_size"}},
      {"missing_bottom", kGoodNet + "layer { name: \"r\" type: \"ReLU\" bottom: \"zz\" top: \"r\" }\n", "",
       "time --model $D/net.prototxt", {"layer 'r' (ReLU) at $D/net.prototxt:5", "bottom 'zz'"}},
      {"wrong_bottom_count",
       "layer { name: \"in\" type: \"Input\" top: \"x\" input_param { shape { dim: 2 dim: 3 } } }\n"
       "layer { name: \"loss\" type: \"EuclideanLoss\" bottom: \"x\" top: \"l\" }\n", "",
       "time --model $D/net.prototxt", {"layer 'loss' (EuclideanLoss)", "2 bottom"}},
      {"shape_mismatch",
       "layer { name: \"in\" type: \"Input\" top: \"x\" top: \"y\" input_param { shape { dim: 2 dim: 3 } shape { dim: 2 dim: 4 } } }\n"
       "layer { name: \"loss\" type: \"EuclideanLoss\" bottom: \"x\" bottom: \"y\" top: \"l\" }\n", "",
       "time --model $D/net.prototxt", {"layer 'loss' (EuclideanLoss)", "2x3", "2x4"}},
      {"kernel_zero",
       "layer { name: \"in\" type: \"Input\" top: \"x\" input_param { shape { dim: 1 dim: 1 dim: 8 dim: 8 } } }\n"
       "layer { name: \"c\" type: \"Convolution\" bottom: \"x\" top: \"c\" convolution_param { num_output: 2 kernel_size: 0 } }\n", "",
       "time --model $D/net.prototxt", {"layer 'c' (Convolution) at $D/net.prototxt:2", "kernel"}},
      {"stride_zero",
       "layer { name: \"in\" type: \"Input\" top: \"x\" input_param { shape { dim: 1 dim: 1 dim: 8 dim: 8 } } }\n"
       "layer { name: \"p\" type: \"Pooling\" bottom: \"x\" top: \"p\" pooling_param { kernel_size: 2 stride: 0 } }\n", "",
       "time --model $D/net.prototxt", {"layer 'p' (Pooling)", "stride"}},
      {"negative_pad",
       "layer { name: \"in\" type: \"Input\" top: \"x\" input_param { shape { dim: 1 dim: 1 dim: 8 dim: 8 } } }\n"
       "layer { name: \"c\" type: \"Convolution\" bottom: \"x\" top: \"c\" convolution_param { num_output: 2 kernel_size: 3 pad: -1 } }\n", "",
       "time --model $D/net.prototxt", {"net.prototxt:2:", "pad"}},
      {"input_too_small",
       "layer { name: \"in\" type: \"Input\" top: \"x\" input_param { shape { dim: 1 dim: 1 dim: 3 dim: 3 } } }\n"
       "layer { name: \"c\" type: \"Convolution\" bottom: \"x\" top: \"c\" convolution_param { num_output: 2 kernel_size: 5 } }\n", "",
       "time --model $D/net.prototxt", {"layer 'c' (Convolution)"}},
      {"dropout_ratio",
       "layer { name: \"in\" type: \"Input\" top: \"x\" input_param { shape { dim: 2 dim: 3 } } }\n"
       "layer { name: \"d\" type: \"Dropout\" bottom: \"x\" top: \"x\" dropout_param { dropout_ratio: 1.5 } }\n", "",
       "time --model $D/net.prototxt", {"layer 'd' (Dropout)", "dropout_ratio"}},
      {"duplicate_layer_name", kGoodNet + "layer { name: \"ip\" type: \"ReLU\" bottom: \"o\" top: \"o2\" }\n", "",
       "time --model $D/net.prototxt", {"layer 'ip'", "unique"}},
      {"top_twice", kGoodNet + "layer { name: \"r\" type: \"ReLU\" bottom: \"x\" top: \"o\" }\n", "",
       "time --model $D/net.prototxt", {"layer 'r' (ReLU)", "top 'o'"}},
      {"missing_model", "", "", "time --model $D/nope.prototxt", {"file not found: $D/nope.prototxt"}},
      {"missing_solver", "", "", "train --solver $D/nope.prototxt", {"file not found"}},
      {"solver_missing_net", "", "net: \"$D/absent.prototxt\" base_lr: 0.1 max_iter: 1",
       "train --solver $D/solver.prototxt", {"file not found", "absent.prototxt"}},
      {"solver_unknown_type", kGoodNet, solver_for("type: \"Adamm\""),
       "train --solver $D/solver.prototxt", {"unknown solver type 'Adamm'"}},
      {"solver_unknown_policy", kGoodNet, solver_for("lr_policy: \"cosin\""),
       "train --solver $D/solver.prototxt", {"unknown lr_policy"}},
      {"solver_test_iter_mismatch", kGoodNet,
       "train_net: \"$D/net.prototxt\" test_net: \"$D/net.prototxt\" test_iter: 1 test_iter: 2 "
       "test_interval: 5 base_lr: 0.1 max_iter: 10",
       "train --solver $D/solver.prototxt", {"2 test_iter value(s) for 1 test net(s)"}},
      {"solver_no_base_lr", kGoodNet, "net: \"$D/net.prototxt\" max_iter: 10",
       "train --solver $D/solver.prototxt", {"base_lr"}},
      {"nan_loss",
       "layer { name: \"in\" type: \"Input\" top: \"x\" top: \"y\" input_param { shape { dim: 2 dim: 3 } } }\n"
       "layer { name: \"ip\" type: \"InnerProduct\" bottom: \"x\" top: \"o\" inner_product_param { num_output: 3 "
       "bias_filler { type: \"constant\" value: 1 } } }\n"
       "layer { name: \"loss\" type: \"EuclideanLoss\" bottom: \"o\" bottom: \"y\" top: \"loss\" }\n", "net: \"$D/net.prototxt\" base_lr: 1e30 max_iter: 100",
       "train --solver $D/solver.prototxt", {"at iteration"}},
      {"missing_weights", kGoodNet, "", "test --model $D/net.prototxt --weights $D/none.caffemodel",
       {"file not found: $D/none.caffemodel"}},
      {"missing_snapshot", kGoodNet, solver_for(""),
       "train --solver $D/solver.prototxt --snapshot $D/x.solverstate", {"file not found"}},
      {"gpu_without_cuda", kGoodNet, "", "time --model $D/net.prototxt --gpu 0", {"--gpu 0", "CUDA"}},
      {"gpu_several_ids", kGoodNet, "", "time --model $D/net.prototxt --gpu 0,1", {"--gpu 0,1", "one process drives one GPU"}},
      {"gpu_bad_id", kGoodNet, "", "time --model $D/net.prototxt --gpu first", {"--gpu first", "expected a device id"}},
      {"cli_missing_option", "", "", "train", {"--solver"}},
      {"cli_unknown_subcommand", "", "", "trian --solver x", {"unknown command 'trian'", "did you mean 'train'"}},
      {"forward_bad_npy", kGoodNet, "",
       "forward --model $D/net.prototxt --input x=$D/net.prototxt --dump $D/out", {"not a valid .npy"}},
      {"forward_unknown_blob", kGoodNet, "",
       "forward --model $D/net.prototxt --input nope=$D/net.prototxt --dump $D/out", {"no blob 'nope'"}},
      {"forward_bad_assignment", kGoodNet, "",
       "forward --model $D/net.prototxt --input x --dump $D/out", {"blob=file.npy"}},
      {"v1_layers", "layers { name: \"a\" type: RELU }\n", "", "time --model $D/net.prototxt",
       {"V1"}},
  };
  return all;
}

class E2EErrorCase : public ::testing::TestWithParam<size_t> {};

TEST_P(E2EErrorCase, ExitsOneWithAClearMessage) { run_case(cases()[GetParam()]); }

INSTANTIATE_TEST_SUITE_P(E2E, E2EErrorCase, ::testing::Range<size_t>(0, cases().size()),
                         [](const auto& info) { return std::string(cases()[info.param].name); });


// Cases that need files made by code rather than text.

std::string data_net(const std::string& source) {
  return "layer { name: \"data\" type: \"Data\" top: \"x\" top: \"y\" data_param { source: \"" +
         source + "\" batch_size: 4 } }\n"
         "layer { name: \"ip\" type: \"InnerProduct\" bottom: \"x\" top: \"o\" "
         "inner_product_param { num_output: 10 } }\n"
         "layer { name: \"loss\" type: \"SoftmaxWithLoss\" bottom: \"o\" bottom: \"y\" top: \"l\" }\n";
}

TEST(E2EErrors, CorruptLmdbRecordNamesTheKey) {
  const fs::path dir = test::scratch_dir("err_corrupt_lmdb");
  const std::string db = (dir / "db").string();
  test::write_synthetic_lmdb(db, 6, 1, 4, 4, [](int i, int, int, int) { return i; });
  {
    LmdbWriter w(db + "_bad", {});
    for (int i = 0; i < 6; ++i) {
      LmdbReader r(db);
      w.put(std::string(r.key(i)), i == 3 ? std::string("\x08\xff garbage") : r.value(i));
    }
    w.commit();
  }
  write_text(dir / "net.prototxt", data_net(db + "_bad"));
  check_clean_failure(run_crema("time --model " + (dir / "net.prototxt").string() + " --iterations 3"),
                      {"layer 'data' (Data)", "00000003"}, "corrupt_lmdb");
}

TEST(E2EErrors, MissingAndEmptyLmdb) {
  const fs::path dir = test::scratch_dir("err_empty_lmdb");
  write_text(dir / "net.prototxt", data_net((dir / "absent").string()));
  check_clean_failure(run_crema("time --model " + (dir / "net.prototxt").string()),
                      {"layer 'data' (Data)", "absent"}, "missing_lmdb");
  { LmdbWriter w((dir / "empty").string(), {}); w.commit(); }
  write_text(dir / "net.prototxt", data_net((dir / "empty").string()));
  check_clean_failure(run_crema("time --model " + (dir / "net.prototxt").string()),
                      {"layer 'data' (Data)", "no records"}, "empty_lmdb");
}

TEST(E2EErrors, TruncatedIdxFile) {
  const fs::path dir = test::scratch_dir("err_idx");
  const std::string images = test::gunzip_file(test::shared_data_dir() + "/mnist/t10k-images-idx3-ubyte.gz");
  write_file_atomic((dir / "images.idx").string(), images.substr(0, 5000));
  const std::string labels = test::shared_data_dir() + "/mnist/t10k-labels-idx1-ubyte.gz";
  check_clean_failure(run_crema("convert --idx-images " + (dir / "images.idx").string() +
                                " --idx-labels " + labels + " --output " + (dir / "out").string()),
                      {"images.idx"}, "truncated_idx");
  EXPECT_FALSE(fs::exists(dir / "out"));
}

TEST(E2EErrors, WeightsOfTheWrongShapeNameTheLayer) {
  const fs::path dir = test::scratch_dir("err_weights");
  std::string net = test::shared_data_dir() + "/lenet_caffe/mnist_deploy.prototxt";
  std::string text = read_file(net);
  text.replace(text.find("num_output: 500"), 15, "num_output: 400");
  write_text(dir / "net.prototxt", text);
  check_clean_failure(run_crema("test --model " + (dir / "net.prototxt").string() + " --weights " +
                                test::shared_data_dir() + "/lenet_caffe/lenet_iter_10000.caffemodel --iterations 1"),
                      {"layer 'ip1'", "500x800", "400x800"}, "weights_shape");
  write_text(dir / "garbage.caffemodel", "this is not a protobuf");
  check_clean_failure(run_crema("test --model " + (dir / "net.prototxt").string() + " --weights " +
                                (dir / "garbage.caffemodel").string()),
                      {"garbage.caffemodel", "not a valid binary NetParameter"}, "weights_garbage");
}

TEST(E2EErrors, TruncatedOrCorruptSnapshotIsRefused) {
  const fs::path dir = test::scratch_dir("err_snapshot");
  write_text(dir / "net.prototxt", kGoodNet);
  write_text(dir / "solver.prototxt", "net: \"" + (dir / "net.prototxt").string() +
                                          "\" base_lr: 0.01 max_iter: 4 snapshot_prefix: \"" +
                                          (dir / "s").string() + "\"");
  ASSERT_EQ(run_crema("train --solver " + (dir / "solver.prototxt").string()).code, 0);
  const std::string state = (dir / "s_iter_4.solverstate").string();
  const std::string model = (dir / "s_iter_4.caffemodel").string();
  const std::string good_model = read_file(model);
  std::string bytes = good_model;
  bytes[bytes.size() / 2] ^= 0x04;
  write_file_atomic(model, bytes);
  check_clean_failure(run_crema("train --solver " + (dir / "solver.prototxt").string() +
                                " --snapshot " + state),
                      {"s_iter_4.caffemodel", "checksum mismatch"}, "corrupt_snapshot");
  write_file_atomic(model, good_model);
  write_file_atomic(state, read_file(state).substr(0, 7));
  check_clean_failure(run_crema("train --solver " + (dir / "solver.prototxt").string() +
                                " --snapshot " + state),
                      {"s_iter_4.solverstate"}, "truncated_snapshot");
}

TEST(E2EErrors, LabelOutOfRangeAndBadTopDiff) {
  const fs::path dir = test::scratch_dir("err_labels");
  write_text(dir / "net.prototxt",
             "layer { name: \"in\" type: \"Input\" top: \"x\" top: \"y\" input_param { shape { dim: 2 dim: 3 } shape { dim: 2 } } }\n"
             "layer { name: \"loss\" type: \"SoftmaxWithLoss\" bottom: \"x\" bottom: \"y\" top: \"l\" }\n");
  std::vector<double> x(6, 0.5), y = {1, 7}, bad(5, 1.0);
  write_npy((dir / "x.npy").string(), {2, 3}, x.data());
  write_npy((dir / "y.npy").string(), {2}, y.data());
  write_npy((dir / "bad.npy").string(), {5}, bad.data());
  const std::string base = "forward --model " + (dir / "net.prototxt").string() + " --input x=" +
                           (dir / "x.npy").string() + " --dump " + (dir / "out").string();
  check_clean_failure(run_crema(base + " --input y=" + (dir / "y.npy").string()),
                      {"layer 'loss' (SoftmaxWithLoss)", "label 7"}, "label_range");
  y[1] = 2;
  write_npy((dir / "y.npy").string(), {2}, y.data());
  check_clean_failure(run_crema(base + " --input y=" + (dir / "y.npy").string() +
                                " --backward --top-diff x=" + (dir / "bad.npy").string()),
                      {"--top-diff x=", "shape 5"}, "top_diff_shape");
}

}  // namespace
}  // namespace crema
