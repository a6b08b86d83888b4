/// Helpers for end-to-end tests that run the `crema` binary.
#pragma once

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <string>
#include <sys/wait.h>

#include "core/io.h"

namespace crema::test {

struct RunResult {
  int code = -1;
  std::string output;  ///< stdout and stderr together
};

/// Runs `crema <args>` through the shell with a time limit; returns exit code and output.
inline RunResult run_crema(const std::string& args, int timeout_s = 120) {
  const std::string cmd = "timeout -s KILL " + std::to_string(timeout_s) + " " +
                          std::string(CREMA_BINARY) + " " + args + " 2>&1";
  RunResult r;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.output.append(buf.data(), n);
  const int status = pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

/// A fresh scratch directory for one test.
inline std::filesystem::path scratch_dir(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() / ("crema_e2e_" + name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

inline void write_text(const std::filesystem::path& p, const std::string& text) {
  write_file_atomic(p.string(), text);
}

}  // namespace crema::test
