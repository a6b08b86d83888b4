// The catalogue of user mistakes: each makes `crema` exit 1 with one clear message that names
// what and where, never a crash, an abort, a stack dump or a hang.
#include <gtest/gtest.h>

#include "tests/e2e_util.h"
#include "tests/test_util.h"

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

}  // namespace
}  // namespace crema
