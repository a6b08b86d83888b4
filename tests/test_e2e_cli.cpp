// End to end through the `crema` binary: convert, train, test, resume, signals, forward, weights.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <map>
#include <sstream>
#include <thread>

#include "core/net.h"
#include "tests/data_test_util.h"
#include "tests/e2e_util.h"

namespace crema {
namespace {

using test::run_crema;
using test::write_text;
namespace fs = std::filesystem;

std::string lenet_net(const std::string& train_lmdb, const std::string& test_lmdb) {
  return R"(name: "LeNet"
layer { name: "mnist" type: "Data" top: "data" top: "label" include { phase: TRAIN }
  transform_param { scale: 0.00390625 } data_param { source: ")" + train_lmdb + R"(" batch_size: 64 } }
layer { name: "mnist" type: "Data" top: "data" top: "label" include { phase: TEST }
  transform_param { scale: 0.00390625 } data_param { source: ")" + test_lmdb + R"(" batch_size: 100 } }
layer { name: "conv1" type: "Convolution" bottom: "data" top: "conv1" param { lr_mult: 1 } param { lr_mult: 2 }
  convolution_param { num_output: 20 kernel_size: 5 weight_filler { type: "xavier" } } }
layer { name: "pool1" type: "Pooling" bottom: "conv1" top: "pool1" pooling_param { pool: MAX kernel_size: 2 stride: 2 } }
layer { name: "conv2" type: "Convolution" bottom: "pool1" top: "conv2" param { lr_mult: 1 } param { lr_mult: 2 }
  convolution_param { num_output: 50 kernel_size: 5 weight_filler { type: "xavier" } } }
layer { name: "pool2" type: "Pooling" bottom: "conv2" top: "pool2" pooling_param { pool: MAX kernel_size: 2 stride: 2 } }
layer { name: "ip1" type: "InnerProduct" bottom: "pool2" top: "ip1" param { lr_mult: 1 } param { lr_mult: 2 }
  inner_product_param { num_output: 500 weight_filler { type: "xavier" } } }
layer { name: "relu1" type: "ReLU" bottom: "ip1" top: "ip1" }
layer { name: "drop1" type: "Dropout" bottom: "ip1" top: "ip1" dropout_param { dropout_ratio: 0.2 } }
layer { name: "ip2" type: "InnerProduct" bottom: "ip1" top: "ip2" param { lr_mult: 1 } param { lr_mult: 2 }
  inner_product_param { num_output: 10 weight_filler { type: "xavier" } } }
layer { name: "accuracy" type: "Accuracy" bottom: "ip2" bottom: "label" top: "accuracy" include { phase: TEST } }
layer { name: "loss" type: "SoftmaxWithLoss" bottom: "ip2" bottom: "label" top: "loss" }
)";
}

double parse_value(const std::string& out, const std::string& key) {
  const size_t p = out.rfind(key + " = ");
  return p == std::string::npos ? NAN : std::atof(out.c_str() + p + key.size() + 3);
}

TEST(E2ETrain, LenetLearnsMnistAndResumesBitExactly) {
  const fs::path dir = test::scratch_dir("train");
  write_text(dir / "net.prototxt", lenet_net(test::mnist_lmdb("train").string(),
                                            test::mnist_lmdb("test").string()));
  const std::string common = "net: \"" + (dir / "net.prototxt").string() +
                             "\" base_lr: 0.01 momentum: 0.9 weight_decay: 0.0005 "
                             "lr_policy: \"inv\" gamma: 0.0001 power: 0.75 display: 50 "
                             "random_seed: 42 test_iter: 20 ";
  // 1) 300 iterations: the test accuracy must rise far above chance.
  write_text(dir / "learn.prototxt", common + "max_iter: 300 test_interval: 300 snapshot_prefix: \"" +
                                         (dir / "learn").string() + "\"");
  auto r = run_crema("train --solver " + (dir / "learn.prototxt").string(), 600);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("it/s  ETA"), std::string::npos) << r.output;
  const double acc = parse_value(r.output, "accuracy");
  std::printf("LeNet on MNIST train10k, 300 iterations: test accuracy %.4f\n", acc);
  EXPECT_GT(acc, 0.9) << r.output;
  // 2) 200 straight vs 100 + snapshot + resume + 100: bit-identical weights.
  write_text(dir / "a.prototxt", common + "max_iter: 200 snapshot: 100 snapshot_prefix: \"" +
                                     (dir / "a").string() + "\"");
  r = run_crema("train --solver " + (dir / "a.prototxt").string(), 600);
  ASSERT_EQ(r.code, 0) << r.output;
  write_text(dir / "b.prototxt", common + "max_iter: 200 snapshot: 100 snapshot_prefix: \"" +
                                     (dir / "b").string() + "\"");
  r = run_crema("train --solver " + (dir / "b.prototxt").string() + " --snapshot " +
                    (dir / "a_iter_100.solverstate").string(),
                600);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("resumed from"), std::string::npos) << r.output;
  const std::string straight = read_file((dir / "a_iter_200.caffemodel").string());
  const std::string resumed = read_file((dir / "b_iter_200.caffemodel").string());
  EXPECT_EQ(straight.size(), resumed.size());
  EXPECT_TRUE(straight == resumed) << "resumed weights differ from the uninterrupted run";
  // 3) `crema test` on the trained weights reports the accuracy.
  r = run_crema("test --model " + (dir / "net.prototxt").string() + " --weights " +
                (dir / "learn_iter_300.caffemodel").string() + " --iterations 20");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NEAR(parse_value(r.output, "accuracy"), acc, 1e-6) << r.output;
}

TEST(E2ETrain, SigintWritesASnapshotAndExitsZero) {
  const fs::path dir = test::scratch_dir("sigint");
  write_text(dir / "net.prototxt", lenet_net(test::mnist_lmdb("train").string(),
                                            test::mnist_lmdb("test").string()));
  write_text(dir / "solver.prototxt", "net: \"" + (dir / "net.prototxt").string() +
                                          "\" base_lr: 0.01 max_iter: 1000000 display: 10 "
                                          "random_seed: 1 snapshot_prefix: \"" +
                                          (dir / "s").string() + "\"");
  const std::string log = (dir / "log.txt").string();
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    FILE* f = freopen(log.c_str(), "w", stdout);
    (void)f;
    dup2(fileno(stdout), fileno(stderr));
    execl(CREMA_BINARY, "crema", "train", "--solver", (dir / "solver.prototxt").c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  // Wait for training to start, then interrupt.
  for (int i = 0; i < 600; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (read_file(log).find("iter 10/") != std::string::npos) break;
  }
  kill(pid, SIGINT);
  int status = 0;
  waitpid(pid, &status, 0);
  const std::string out = read_file(log);
  ASSERT_TRUE(WIFEXITED(status)) << out;
  EXPECT_EQ(WEXITSTATUS(status), 0) << out;
  EXPECT_NE(out.find("stopped at iteration"), std::string::npos) << out;
  bool found = false;
  for (const auto& e : fs::directory_iterator(dir))
    found |= e.path().extension() == ".solverstate";
  EXPECT_TRUE(found) << out;
}

TEST(E2ECli, ForwardAndBackwardDumpMatchTheNet) {
  const fs::path dir = test::scratch_dir("forward");
  const std::string net_text = R"(name: "f" force_backward: true
layer { name: "in" type: "Input" top: "x" input_param { shape { dim: 2 dim: 3 } } }
layer { name: "ip" type: "InnerProduct" bottom: "x" top: "y" inner_product_param { num_output: 4
        weight_filler { type: "gaussian" std: 1 } bias_filler { type: "constant" value: 0.5 } } }
layer { name: "r" type: "Sigmoid" bottom: "y" top: "z" }
)";
  write_text(dir / "net.prototxt", net_text);
  std::vector<double> x = {0.1, -0.2, 0.3, 0.4, 0.5, -0.6};
  write_npy((dir / "x.npy").string(), {2, 3}, x.data());
  std::vector<double> dz(8, 1.0);
  write_npy((dir / "dz.npy").string(), {2, 4}, dz.data());
  const auto r = run_crema("forward --model " + (dir / "net.prototxt").string() + " --input x=" +
                           (dir / "x.npy").string() + " --dump " + (dir / "out").string() +
                           " --backward --top-diff z=" + (dir / "dz.npy").string() +
                           " --threads 1");
  ASSERT_EQ(r.code, 0) << r.output;
  // Reference: the same net built in-process (same default seed, so the same weights).
  Context ctx = Context::cpu(1);
  Net<float> net((dir / "net.prototxt").string(), ctx, TEST);
  for (int i = 0; i < 6; ++i) net.blob_by_name("x")->mutable_cpu_data()[i] = static_cast<float>(x[i]);
  net.forward();
  const NpyArray z = read_npy((dir / "out/z.npy").string());
  ASSERT_EQ(z.shape, (std::vector<int64_t>{2, 4}));
  for (int i = 0; i < 8; ++i)
    EXPECT_FLOAT_EQ(static_cast<float>(z.data[i]), net.blob_by_name("z")->cpu_data()[i]);
  // dL/dx through sigmoid and the inner product, by hand from the dumped weights.
  const NpyArray w = read_npy((dir / "out/ip.0.npy").string());
  const NpyArray dx = read_npy((dir / "out/x.diff.npy").string());
  const NpyArray dw = read_npy((dir / "out/ip.0.diff.npy").string());
  ASSERT_EQ(dx.shape, (std::vector<int64_t>{2, 3}));
  for (int n = 0; n < 2; ++n)
    for (int i = 0; i < 3; ++i) {
      double want = 0;
      for (int o = 0; o < 4; ++o) {
        const double zz = z.data[n * 4 + o];
        want += zz * (1 - zz) * w.data[o * 3 + i];
      }
      EXPECT_NEAR(dx.data[n * 3 + i], want, 1e-5);
    }
  for (int o = 0; o < 4; ++o)
    for (int i = 0; i < 3; ++i) {
      double want = 0;
      for (int n = 0; n < 2; ++n) {
        const double zz = z.data[n * 4 + o];
        want += zz * (1 - zz) * x[n * 3 + i];
      }
      EXPECT_NEAR(dw.data[o * 3 + i], want, 1e-5);
    }
}

TEST(E2ECli, WeightsExportImportRoundTrip) {
  const fs::path dir = test::scratch_dir("weights");
  const std::string lenet = test::shared_data_dir() + "/lenet_caffe/";
  auto r = run_crema("weights --weights " + lenet + "lenet_iter_10000.caffemodel --export " +
                     (dir / "npy").string());
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(fs::exists(dir / "npy/conv1.0.npy"));
  EXPECT_EQ(read_npy((dir / "npy/ip1.0.npy").string()).shape, (std::vector<int64_t>{500, 800}));
  r = run_crema("weights --model " + lenet + "mnist_deploy.prototxt --import " +
                (dir / "npy").string() + " --output " + (dir / "back.caffemodel").string());
  ASSERT_EQ(r.code, 0) << r.output;
  NetParameter a, b;
  read_binary_proto(lenet + "lenet_iter_10000.caffemodel", &a);
  read_checksummed_proto((dir / "back.caffemodel").string(), &b);
  int compared = 0;
  for (const auto& la : a.layer())
    for (const auto& lb : b.layer())
      if (la.name() == lb.name() && la.blobs_size() > 0) {
        ASSERT_EQ(la.blobs_size(), lb.blobs_size());
        for (int k = 0; k < la.blobs_size(); ++k) {
          ASSERT_EQ(la.blobs(k).data_size(), lb.blobs(k).data_size());
          for (int i = 0; i < la.blobs(k).data_size(); ++i)
            ASSERT_EQ(la.blobs(k).data(i), lb.blobs(k).data(i));
          ++compared;
        }
      }
  EXPECT_EQ(compared, 8);
}

TEST(E2ECli, EverySubcommandHasHelp) {
  for (const char* cmd :
       {"train", "test", "time", "forward", "weights", "convert", "device_query", "layers"}) {
    const auto r = run_crema(std::string(cmd) + " --help");
    EXPECT_EQ(r.code, 0) << cmd << "\n" << r.output;
    EXPECT_NE(r.output.find("Usage"), std::string::npos) << cmd << "\n" << r.output;
  }
  const auto top = run_crema("--help");
  EXPECT_EQ(top.code, 0);
  EXPECT_NE(top.output.find("train"), std::string::npos);
}

TEST(E2ECli, DeviceQueryTimeAndLayers) {
  auto r = run_crema("device_query");
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.output.find("CPU:"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("CUDA"), std::string::npos) << r.output;
  r = run_crema("time --model " + test::shared_data_dir() +
                "/lenet_caffe/mnist_deploy.prototxt --iterations 3");
  EXPECT_EQ(r.code, 0) << r.output;
  for (const char* layer : {"conv1", "pool2", "ip2", "total per iteration"})
    EXPECT_NE(r.output.find(layer), std::string::npos) << r.output;
  r = run_crema("layers");
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.output.find("Convolution"), std::string::npos);
}

// Splits one CSV line (RFC 4180 quoting), independently of crema's writer.
std::vector<std::string> csv_fields(const std::string& line) {
  std::vector<std::string> out(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted && c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
      out.back() += '"';
      ++i;
    } else if (c == '"') {
      quoted = !quoted;
    } else if (c == ',' && !quoted) {
      out.emplace_back();
    } else {
      out.back() += c;
    }
  }
  return out;
}

TEST(E2ECli, TimeReportsGradientBytesAsTableAndCsv) {
  // ip1: 4x3 weights + 4 bias; ip2's bias has lr_mult 0 (not updated, not reduced); ip3 shares
  // ip1's weights by name, so only its own bias counts there.
  const fs::path dir = test::scratch_dir("time_grad_bytes");
  write_text(dir / "net.prototxt", R"(name: "tiny"
layer { name: "in" type: "Input" top: "x" input_param { shape { dim: 2 dim: 3 } } }
layer { name: "ip1" type: "InnerProduct" bottom: "x" top: "h" param { name: "w1" }
  inner_product_param { num_output: 4 } }
layer { name: "act,1" type: "ReLU" bottom: "h" top: "h" }
layer { name: "ip2" type: "InnerProduct" bottom: "h" top: "y" param { lr_mult: 1 } param { lr_mult: 0 }
  inner_product_param { num_output: 5 } }
layer { name: "ip3" type: "InnerProduct" bottom: "x" top: "z" param { name: "w1" }
  inner_product_param { num_output: 4 } }
)");
  const std::map<std::string, size_t> expected = {
      {"in", 0}, {"ip1", 4 * (4 * 3 + 4)}, {"act,1", 0}, {"ip2", 4 * (5 * 4)}, {"ip3", 4 * 4}};
  const size_t total = 4 * (4 * 3 + 4) + 4 * (5 * 4) + 4 * 4;
  const std::string model = (dir / "net.prototxt").string();

  auto r = run_crema("time --model " + model + " --iterations 2");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("grad bytes"), std::string::npos) << r.output;
  std::istringstream table(r.output);
  std::map<std::string, size_t> seen;
  bool saw_total = false;
  for (std::string line; std::getline(table, line);) {
    std::istringstream words(line);
    std::vector<std::string> w;
    for (std::string t; words >> t;) w.push_back(t);
    if (w.size() == 5 && expected.count(w[0])) seen[w[0]] = std::stoull(w[4]);
    if (line.rfind("total per iteration", 0) == 0) {
      saw_total = true;
      EXPECT_EQ(std::stoull(w.back()), total) << line;
    }
  }
  EXPECT_TRUE(saw_total) << r.output;
  EXPECT_EQ(seen, expected) << r.output;

  r = run_crema("time --model " + model + " --iterations 2 --format csv");
  ASSERT_EQ(r.code, 0) << r.output;
  std::istringstream csv(r.output);
  std::string line;
  ASSERT_TRUE(std::getline(csv, line));
  EXPECT_EQ(line, "name,type,forward_ms,backward_ms,grad_bytes");
  seen.clear();
  size_t sum = 0;
  for (; std::getline(csv, line);) {
    const auto f = csv_fields(line);
    ASSERT_EQ(f.size(), 5u) << line;
    EXPECT_GE(std::stod(f[2]), 0.0) << line;
    EXPECT_GE(std::stod(f[3]), 0.0) << line;
    sum += std::stoull(f[4]);
    if (expected.count(f[0])) seen[f[0]] = std::stoull(f[4]);
    if (f[0] == "ip1") {
      EXPECT_EQ(f[1], "InnerProduct");
    }
  }
  EXPECT_EQ(seen, expected) << r.output;
  EXPECT_EQ(sum, total);
  EXPECT_NE(r.output.find("\"act,1\",ReLU,"), std::string::npos) << r.output;

  r = run_crema("time --model " + model + " --format json");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.output.find("--format"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace crema
