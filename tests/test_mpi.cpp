// Data-parallel training through `mpirun -np 2 crema train` (CTest label mpi): equivalence with
// one process on the doubled batch, iter_size, synchronized BatchNorm, and rank failures.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <regex>
#include <thread>

#include "core/db.h"
#include "core/io.h"
#include "proto/crema.pb.h"
#include "tests/e2e_util.h"
#include "tests/test_util.h"

namespace crema {
namespace {

namespace fs = std::filesystem;
using test::write_text;

// mpirun as CI runs it: as root, on a 2-core machine, without ptrace-based single copy (which
// containers often forbid).
const std::string kMpirun =
    "env OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 "
    "OMPI_MCA_btl_vader_single_copy_mechanism=none mpirun -np 2 --oversubscribe --bind-to none ";

#define CREMA_REQUIRE_MPI()                                                                  \
  do {                                                                                       \
    if (!CREMA_WITH_MPI) GTEST_SKIP() << "this build has no MPI (install libopenmpi-dev)";   \
    if (std::system("command -v mpirun > /dev/null 2>&1") != 0)                              \
      GTEST_SKIP() << "mpirun not found (install openmpi-bin)";                              \
  } while (0)

test::RunResult train(const fs::path& solver, const std::string& extra = "", bool mpi = false) {
  return test::run_command((mpi ? kMpirun : std::string()) + CREMA_BINARY + " train --solver " +
                       solver.string() + " " + extra,
                   300);
}

// A small MLP on MNIST; `middle` goes between the first InnerProduct and the ReLU.
std::string mlp(const fs::path& lmdb, int batch, const std::string& middle = "") {
  return "name: \"mlp\"\n"
         "layer { name: \"data\" type: \"Data\" top: \"data\" top: \"label\"\n"
         "  transform_param { scale: 0.00390625 }\n"
         "  data_param { source: \"" + lmdb.string() + "\" batch_size: " + std::to_string(batch) +
         " } }\n"
         "layer { name: \"ip1\" type: \"InnerProduct\" bottom: \"data\" top: \"ip1\"\n"
         "  inner_product_param { num_output: 24 weight_filler { type: \"xavier\" }\n"
         "    bias_filler { type: \"constant\" value: 0.1 } } }\n" +
         middle +
         "layer { name: \"relu1\" type: \"ReLU\" bottom: \"ip1\" top: \"ip1\" }\n"
         "layer { name: \"ip2\" type: \"InnerProduct\" bottom: \"ip1\" top: \"ip2\"\n"
         "  inner_product_param { num_output: 10 weight_filler { type: \"xavier\" } } }\n"
         "layer { name: \"loss\" type: \"SoftmaxWithLoss\" bottom: \"ip2\" bottom: \"label\" "
         "top: \"loss\" }\n";
}

const char* kSyncBn =
    "layer { name: \"bn1\" type: \"BatchNorm\" bottom: \"ip1\" top: \"ip1\"\n"
    "  batch_norm_param { sync: true moving_average_fraction: 0.9 } }\n"
    "layer { name: \"sc1\" type: \"Scale\" bottom: \"ip1\" top: \"ip1\" scale_param { bias_term: "
    "true } }\n";

// Writes net and solver files into `dir`; returns the solver path. Snapshots go to dir/<name>.
fs::path write_run(const fs::path& dir, const std::string& name, const std::string& net,
                   const std::string& solver_extra) {
  // lr halves every 20 iterations unless the extra settings say otherwise.
  const std::string step = solver_extra.find("stepsize") == std::string::npos ? "stepsize: 20 " : "";
  write_text(dir / (name + "_net.prototxt"), net);
  write_text(dir / (name + "_solver.prototxt"),
             "net: \"" + (dir / (name + "_net.prototxt")).string() +
                 "\" base_lr: 0.05 momentum: 0.9 weight_decay: 0.0005 lr_policy: \"step\" "
                 "gamma: 0.5 random_seed: 11 snapshot_prefix: \"" +
                 (dir / name).string() + "\" " + step + solver_extra);
  return dir / (name + "_solver.prototxt");
}

// Every parameter value of a weights file, in layer and blob order.
std::vector<float> weights_of(const fs::path& file) {
  NetParameter np;
  read_checksummed_proto(file.string(), &np);
  std::vector<float> out;
  for (const auto& l : np.layer())
    for (const auto& b : l.blobs()) out.insert(out.end(), b.data().begin(), b.data().end());
  return out;
}

// max |a - b| / (1 + |b|): absolute for weights, relative for BatchNorm's running sums.
double max_diff(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size() || a.empty()) return INFINITY;
  double d = 0;
  for (size_t i = 0; i < a.size(); ++i)
    d = std::max(d, std::fabs(double(a[i]) - b[i]) / (1 + std::fabs(double(b[i]))));
  return d;
}

// The per-iteration losses of a training log ("iter N/M  loss L ...", display: 1).
std::vector<double> losses(const std::string& log) {
  std::vector<double> out;
  static const std::regex line(R"(iter (\d+)/\d+  loss (\S+))");
  for (auto it = std::sregex_iterator(log.begin(), log.end(), line); it != std::sregex_iterator();
       ++it)
    out.push_back(std::stod((*it)[2].str()));
  return out;
}

void print_side_by_side(const char* a_name, const std::vector<double>& a, const char* b_name,
                        const std::vector<double>& b) {
  std::printf("%5s  %14s  %14s\n", "iter", a_name, b_name);
  for (size_t i = 0; i < std::max(a.size(), b.size()); ++i)
    std::printf("%5zu  %14.7f  %14.7f\n", i, i < a.size() ? a[i] : NAN, i < b.size() ? b[i] : NAN);
}

// Float training of 50 steps, summed in another order on two ranks: observed differences are
// ~1e-7; 1e-5 leaves room while a wrong shard, average or update would differ by > 1e-3.
constexpr double kTol = 1e-5;

TEST(MpiTrain, TwoRanksOfBatchBEqualOneProcessOfBatch2BAndIterSize2) {
  CREMA_REQUIRE_MPI();
  const fs::path dir = test::scratch_dir("mpi_equiv");
  const fs::path lmdb = test::mnist_lmdb("train");
  const auto two = write_run(dir, "two", mlp(lmdb, 16), "max_iter: 50 display: 1");
  const auto one = write_run(dir, "one", mlp(lmdb, 32), "max_iter: 50 display: 1");
  const auto acc = write_run(dir, "acc", mlp(lmdb, 16), "max_iter: 50 display: 1 iter_size: 2");
  const auto r2 = train(two, "", true);
  ASSERT_EQ(r2.code, 0) << r2.output;
  const auto r1 = train(one);
  ASSERT_EQ(r1.code, 0) << r1.output;
  const auto ra = train(acc);
  ASSERT_EQ(ra.code, 0) << ra.output;
  EXPECT_NE(r2.output.find("2 ranks x batch 16 x iter_size 1 = global batch 32"), std::string::npos)
      << r2.output;
  EXPECT_NE(r2.output.find("overlapped backward"), std::string::npos) << r2.output;
  // Rank 0 alone logs: one progress line per iteration.
  const auto l2 = losses(r2.output), l1 = losses(r1.output), la = losses(ra.output);
  std::printf("losses, 2 ranks x batch 16 vs 1 process x batch 32:\n");
  print_side_by_side("2 x 16", l2, "1 x 32", l1);
  ASSERT_EQ(l2.size(), 50u);
  ASSERT_EQ(l1.size(), 50u);
  ASSERT_EQ(la.size(), 50u);
  for (size_t i = 0; i < 50; ++i) {
    EXPECT_NEAR(l2[i], l1[i], 1e-4) << "iteration " << i;
    EXPECT_NEAR(la[i], l1[i], 1e-4) << "iteration " << i;
  }
  const auto w2 = weights_of(dir / "two_iter_50.caffemodel");
  const auto w1 = weights_of(dir / "one_iter_50.caffemodel");
  const auto wa = weights_of(dir / "acc_iter_50.caffemodel");
  const double d21 = max_diff(w2, w1), da1 = max_diff(wa, w1);
  std::printf("max |w| difference (relative above 1) after 50 iterations: 2x16 vs 1x32 %.3g, iter_size 2 vs 1x32 "
              "%.3g (tolerance %.0e)\n", d21, da1, kTol);
  EXPECT_LT(d21, kTol);
  EXPECT_LT(da1, kTol);
  // The net learned: the comparison is not between two untrained nets.
  EXPECT_GT(l1.front() - l1.back(), 0.5);
}

TEST(MpiTrain, SyncBatchNormTwoRanksEqualOneProcess) {
  CREMA_REQUIRE_MPI();
  const fs::path dir = test::scratch_dir("mpi_syncbn");
  const fs::path lmdb = test::mnist_lmdb("train");
  const auto two = write_run(dir, "two", mlp(lmdb, 8, kSyncBn), "max_iter: 30");
  const auto one = write_run(dir, "one", mlp(lmdb, 16, kSyncBn), "max_iter: 30");
  std::string local_bn = kSyncBn;
  local_bn.replace(local_bn.find("sync: true"), 10, "sync: false");
  const auto local = write_run(dir, "local", mlp(lmdb, 8, local_bn), "max_iter: 30");
  const auto r2 = train(two, "", true);
  ASSERT_EQ(r2.code, 0) << r2.output;
  const auto r1 = train(one);
  ASSERT_EQ(r1.code, 0) << r1.output;
  const auto rl = train(local, "", true);
  ASSERT_EQ(rl.code, 0) << rl.output;
  const auto w2 = weights_of(dir / "two_iter_30.caffemodel");
  const auto w1 = weights_of(dir / "one_iter_30.caffemodel");
  const auto wl = weights_of(dir / "local_iter_30.caffemodel");
  const double synced = max_diff(w2, w1), unsynced = max_diff(wl, w1);
  std::printf("after 30 iterations, max |w| difference (relative above 1) to 1 process x batch 16: SyncBN 2x8 %.3g, "
              "per-rank BatchNorm 2x8 %.3g\n", synced, unsynced);
  // The weights include BatchNorm's running statistics, so those are compared too.
  EXPECT_LT(synced, kTol);
  // Per-rank statistics differ visibly: the synchronized result is not an accident.
  EXPECT_GT(unsynced, 100 * kTol);
}

// Two network namespaces joined by a veth pair stand for two nodes: each rank runs in its own,
// and mpirun reaches the second through an "rsh agent" that enters its namespace. Traffic stays
// on this machine (addresses inside namespaces the test made).
class TwoNodes {
 public:
  explicit TwoNodes(const fs::path& dir) : dir_(dir) {
    const std::string id = std::to_string(::getpid());
    a_ = "crema_a" + id, b_ = "crema_b" + id;
    const std::string va = "cva" + id, vb = "cvb" + id;
    const std::string setup =
        "ip netns add " + a_ + " && ip netns add " + b_ + " && ip link add " + va +
        " type veth peer name " + vb + " && ip link set " + va + " netns " + a_ +
        " && ip link set " + vb + " netns " + b_ + " && ip -n " + a_ + " addr add 10.231.0.1/24 dev " +
        va + " && ip -n " + b_ + " addr add 10.231.0.2/24 dev " + vb + " && ip -n " + a_ +
        " link set lo up && ip -n " + b_ + " link set lo up && ip -n " + a_ + " link set " + va +
        " up && ip -n " + b_ + " link set " + vb + " up";
    const auto r = test::run_command("sh -c '" + setup + "'", 30);
    ok_ = r.code == 0;
    why_ = r.output;
    write_text(dir / "rsh.sh",
               "#!/bin/sh\nhost=$1; shift\ncase \"$host\" in\n  10.231.0.1) ns=" + a_ +
                   ";;\n  10.231.0.2) ns=" + b_ +
                   ";;\n  *) echo \"no test node $host\" >&2; exit 1;;\nesac\n"
                   "exec ip netns exec \"$ns\" /bin/sh -c \"$*\"\n");
    fs::permissions(dir / "rsh.sh", fs::perms::owner_all);
    write_text(dir / "hosts", "10.231.0.1 slots=1\n10.231.0.2 slots=1\n");
  }
  ~TwoNodes() {
    test::run_command("ip netns del " + a_, 30);  // takes its end of the veth pair with it
    test::run_command("ip netns del " + b_, 30);
  }
  bool ok() const { return ok_; }
  const std::string& why() const { return why_; }
  // mpirun started inside node A, placing one rank on each node, over TCP on the veth pair.
  std::string mpirun() const {
    return "env OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 ip netns exec " + a_ +
           " mpirun -np 2 --hostfile " + (dir_ / "hosts").string() + " --mca plm_rsh_agent " +
           (dir_ / "rsh.sh").string() +
           " --mca btl self,tcp --mca btl_tcp_if_include 10.231.0.0/24"
           " --mca oob_tcp_if_include 10.231.0.0/24 ";
  }

 private:
  fs::path dir_;
  std::string a_, b_, why_;
  bool ok_ = false;
};

TEST(MpiNetns, TwoNodesOverAVethPairTrainLikeOneProcess) {
  CREMA_REQUIRE_MPI();
  const fs::path dir = test::scratch_dir("mpi_netns");
  TwoNodes nodes(dir);
  if (!nodes.ok())
    GTEST_SKIP() << "cannot make network namespaces here (needs root and CAP_NET_ADMIN): "
                 << nodes.why();
  const fs::path lmdb = test::mnist_lmdb("train");
  const auto two = write_run(dir, "two", mlp(lmdb, 16), "max_iter: 50 display: 10");
  const auto one = write_run(dir, "one", mlp(lmdb, 32), "max_iter: 50 display: 10");
  const auto r2 = test::run_command(nodes.mpirun() + CREMA_BINARY + " train --solver " + two.string(), 300);
  ASSERT_EQ(r2.code, 0) << r2.output;
  // Each rank is alone on its node.
  EXPECT_NE(r2.output.find("rank 0 of 2 (local 0 of 1)"), std::string::npos) << r2.output;
  EXPECT_NE(r2.output.find("rank 1 of 2 (local 0 of 1)"), std::string::npos) << r2.output;
  const auto r1 = train(one);
  ASSERT_EQ(r1.code, 0) << r1.output;
  const double d = max_diff(weights_of(dir / "two_iter_50.caffemodel"),
                            weights_of(dir / "one_iter_50.caffemodel"));
  std::printf("2 nodes (network namespaces) x batch 16 vs 1 process x batch 32: max |w| "
              "difference %.3g\n", d);
  EXPECT_LT(d, kTol);
}

// A background `mpirun ... crema train`, its log in a file.
struct BackgroundRun {
  pid_t pid = -1;
  fs::path log;

  BackgroundRun(const std::string& cmd, const fs::path& log_file) : log(log_file) {
    pid = fork();
    if (pid == 0) {
      setpgid(0, 0);  // its own group, so cleanup reaches mpirun's children
      const std::string sh = "exec " + cmd + " > " + log.string() + " 2>&1";
      execl("/bin/sh", "sh", "-c", sh.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
  }
  ~BackgroundRun() {
    if (pid > 0) {
      kill(-pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
  }
  std::string output() const { return read_file(log.string()); }
  // Waits until the log matches `re` (true) or `seconds` pass.
  bool wait_for(const std::regex& re, double seconds) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (std::chrono::steady_clock::now() < end) {
      if (fs::exists(log) && std::regex_search(output(), re)) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }
  // The exit code, or -1 when it is still running after `seconds`.
  int wait_exit(double seconds) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (std::chrono::steady_clock::now() < end) {
      int status = 0;
      if (waitpid(pid, &status, WNOHANG) == pid) {
        pid = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return -1;
  }
};

// The pid that rank `rank` printed in its start-up line.
pid_t rank_pid(BackgroundRun& run, int rank) {
  const std::regex re("rank " + std::to_string(rank) + R"( of 2 \(local \d+ of \d+\) on \S+, pid (\d+))");
  if (!run.wait_for(re, 60)) return -1;
  std::smatch m;
  const std::string out = run.output();
  return std::regex_search(out, m, re) ? static_cast<pid_t>(std::stol(m[1].str())) : -1;
}

TEST(MpiFault, HungRankIsNamedAndEveryRankExits) {
  CREMA_REQUIRE_MPI();
  const fs::path dir = test::scratch_dir("mpi_hang");
  const auto solver = write_run(dir, "hang", mlp(test::mnist_lmdb("train"), 16),
                                "max_iter: 1000000 display: 100 comm_timeout_s: 3");
  BackgroundRun run(kMpirun + CREMA_BINARY + " train --solver " + solver.string(), dir / "log");
  const pid_t victim = rank_pid(run, 1);
  ASSERT_GT(victim, 0) << run.output();
  ASSERT_TRUE(run.wait_for(std::regex("iter 200/"), 60)) << run.output();
  const auto stopped = std::chrono::steady_clock::now();
  kill(victim, SIGSTOP);  // a hang: alive, holds its connections, answers nothing
  const int code = run.wait_exit(60);
  const double took =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - stopped).count();
  kill(victim, SIGKILL);
  const std::string out = run.output();
  ASSERT_NE(code, -1) << "the job still runs 60 s after rank 1 hung:\n" << out;
  EXPECT_NE(code, 0) << out;
  std::printf("rank 1 stopped; the job ended %.1f s later with exit code %d\n", took, code);
  EXPECT_NE(out.find("rank 0: collective"), std::string::npos) << out;
  EXPECT_NE(out.find("no word from rank 1 ("), std::string::npos) << out;
  EXPECT_NE(out.find("died or hangs"), std::string::npos) << out;
}

TEST(MpiFault, KilledRankEndsTheJobAndResumeReproducesOneProcess) {
  CREMA_REQUIRE_MPI();
  const fs::path dir = test::scratch_dir("mpi_kill");
  const fs::path lmdb = test::mnist_lmdb("train");
  // Long enough (seconds) that the kill lands mid-training; lr halves every 100 iterations.
  const std::string schedule = "max_iter: 3000 stepsize: 100 display: 500 ";
  const auto solver =
      write_run(dir, "kill", mlp(lmdb, 16), schedule + "snapshot: 500 comm_timeout_s: 10");
  {
    BackgroundRun run(kMpirun + CREMA_BINARY + " train --solver " + solver.string() +
                          " --threads 1",
                      dir / "log");
    const pid_t victim = rank_pid(run, 1);
    ASSERT_GT(victim, 0) << run.output();
    ASSERT_TRUE(run.wait_for(std::regex(R"(kill_iter_500\.solverstate)"), 60)) << run.output();
    kill(victim, SIGKILL);
    const int code = run.wait_exit(60);
    const std::string out = run.output();
    ASSERT_NE(code, -1) << "the job still runs 60 s after rank 1 was killed:\n" << out;
    EXPECT_NE(code, 0) << out;
    // mpirun or the surviving rank names the dead one.
    EXPECT_TRUE(std::regex_search(out, std::regex(R"(rank 1\b)"))) << out;
    EXPECT_FALSE(fs::exists(dir / "kill_iter_3000.caffemodel")) << "training was not interrupted";
  }
  // The newest complete snapshot; resume it on 2 ranks and compare with one uninterrupted
  // process on the doubled batch.
  int last = 0;
  for (int it = 500; it < 3000; it += 500)
    if (fs::exists(dir / ("kill_iter_" + std::to_string(it) + ".solverstate"))) last = it;
  ASSERT_GE(last, 500);
  const auto resumed = train(solver, "--snapshot " + (dir / ("kill_iter_" + std::to_string(last) +
                                                             ".solverstate")).string(), true);
  ASSERT_EQ(resumed.code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("resumed from"), std::string::npos) << resumed.output;
  const auto one = write_run(dir, "one", mlp(lmdb, 32), schedule);
  const auto r1 = train(one);
  ASSERT_EQ(r1.code, 0) << r1.output;
  const double d = max_diff(weights_of(dir / "kill_iter_3000.caffemodel"),
                                weights_of(dir / "one_iter_3000.caffemodel"));
  std::printf("resumed from iteration %d after the kill: max |w| difference (relative above 1) to 1 x 32 = %.3g\n",
              last, d);
  EXPECT_LT(d, kTol);
}

// A record whose pixels are NaN, read by rank 1 only: every rank must stop before the update,
// and the message names rank 1.
TEST(MpiFault, NonFiniteLossOnOneRankStopsAllAndNamesIt) {
  CREMA_REQUIRE_MPI();
  const fs::path dir = test::scratch_dir("mpi_nan");
  {
    LmdbWriter w((dir / "db").string());
    for (int i = 0; i < 64; ++i) {
      Datum d;
      d.set_channels(1), d.set_height(2), d.set_width(2), d.set_label(i % 10);
      // Batch 2 on rank 1 holds global samples 5*4..5*4+3 (batch 4, world 2: (2*2+1)*4 + j).
      const bool poisoned = i == 21;
      for (int k = 0; k < 4; ++k) d.add_float_data(poisoned ? NAN : 0.1f * (i % 7) - 0.2f * k);
      char key[16];
      std::snprintf(key, sizeof key, "%08d", i);  // LMDB orders keys as strings
      w.put(key, d.SerializeAsString());
    }
    w.commit();
  }
  const std::string net =
      "layer { name: \"data\" type: \"Data\" top: \"data\" top: \"label\"\n"
      "  data_param { source: \"" + (dir / "db").string() + "\" batch_size: 4 shuffle: false } }\n"
      "layer { name: \"ip\" type: \"InnerProduct\" bottom: \"data\" top: \"ip\"\n"
      "  inner_product_param { num_output: 10 weight_filler { type: \"xavier\" } } }\n"
      "layer { name: \"loss\" type: \"SoftmaxWithLoss\" bottom: \"ip\" bottom: \"label\" top: "
      "\"loss\" }\n";
  const auto solver = write_run(dir, "nan", net, "max_iter: 10 display: 1");
  const auto r = train(solver, "", true);
  EXPECT_NE(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("loss is not finite on rank 1 (nan) at iteration 2"), std::string::npos)
      << r.output;
  EXPECT_FALSE(fs::exists(dir / "nan_iter_10.caffemodel"));
}

}  // namespace
}  // namespace crema
