/// Helpers for end-to-end tests that run the `crema` binary.
#pragma once

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

#include "core/io.h"
#include "tests/test_util.h"

namespace crema::test {

struct RunResult {
  int code = -1;
  std::string output;  ///< stdout and stderr together
};

/// Runs the shell command `cmd` with a time limit (SIGKILL after timeout_s); returns its exit code
/// and its stdout and stderr together.
inline RunResult run_command(const std::string& cmd, int timeout_s = 120) {
  const std::string full = "timeout -s KILL " + std::to_string(timeout_s) + " " + cmd + " 2>&1";
  RunResult r;
  FILE* p = popen(full.c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.output.append(buf.data(), n);
  const int status = pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

/// Runs `crema <args>` (see run_command).
inline RunResult run_crema(const std::string& args, int timeout_s = 120) {
  return run_command(std::string(CREMA_BINARY) + " " + args, timeout_s);
}

/// A fresh scratch directory for one test.
inline std::filesystem::path scratch_dir(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() / ("crema_e2e_" + name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

/// MNIST train10k ("train") or t10k ("test") from ../shared/data as an LMDB, converted through the
/// CLI once per test process (ctest runs E2E tests in parallel, so each process has its own).
inline std::filesystem::path mnist_lmdb(const std::string& which) {
  static std::map<std::string, std::filesystem::path> done;
  if (auto it = done.find(which); it != done.end()) return it->second;
  const std::string prefix = which == "train" ? "train10k" : "t10k";
  const std::string m = shared_data_dir() + "/mnist/" + prefix;
  const auto out = scratch_dir("mnist_" + which + "_" + std::to_string(::getpid())) / which;
  const auto r = run_crema("convert --idx-images " + m + "-images-idx3-ubyte.gz --idx-labels " + m +
                           "-labels-idx1-ubyte.gz --output " + out.string());
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("wrote 10000 records"), std::string::npos) << r.output;
  return done[which] = out;
}

inline void write_text(const std::filesystem::path& p, const std::string& text) {
  write_file_atomic(p.string(), text);
}

}  // namespace crema::test
