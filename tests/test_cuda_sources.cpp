// DESIGN §2: the math of every hand-written kernel lives in a host-device body that the CPU
// tests run; a cuda_kernels/*.cu file may only launch bodies. This test reads every .cu and
// fails on arithmetic, control flow or indexing there, so the math cannot drift into
// GPU-only code that no test on a GPU-less machine would ever execute.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace crema {
namespace {

namespace fs = std::filesystem;

std::string read_all(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Drops comments, string literals, preprocessor lines (with continuations) and the line
// breaks of macro bodies, keeping only code.
std::string code_of(const std::string& src) {
  std::string out;
  bool in_pp = false;
  for (size_t i = 0; i < src.size(); ++i) {
    const char c = src[i];
    if (c == '/' && i + 1 < src.size() && src[i + 1] == '/') {
      while (i < src.size() && src[i] != '\n') ++i;
      --i;
      continue;
    }
    if (c == '/' && i + 1 < src.size() && src[i + 1] == '*') {
      i = src.find("*/", i + 2);
      if (i == std::string::npos) break;
      ++i;
      continue;
    }
    if (c == '"') {
      ++i;
      while (i < src.size() && src[i] != '"') i += src[i] == '\\' ? 2 : 1;
      out += "\"\"";
      continue;
    }
    const bool line_start = out.empty() || out.back() == '\n';
    if (line_start && !in_pp) {
      size_t j = i;
      while (j < src.size() && (src[j] == ' ' || src[j] == '\t')) ++j;
      if (j < src.size() && src[j] == '#') in_pp = true;
    }
    if (in_pp) {
      // Keep #define bodies (macros could hide arithmetic); drop #include and the like.
      if (c == '\n' && (i == 0 || src[i - 1] != '\\')) in_pp = false;
    }
    out += c;
  }
  return out;
}

// Lines of `code` that do more than name a body and pass arguments to it.
std::vector<std::string> offending_lines(const std::string& code) {
  // Pointer declarators (`const T* x`) and the lambda capture `[=]` are fine; `a * b` is
  // multiplication.
  static const std::regex kForbidden(
      R"((\s\*\s)|(\s[+/%]\s?)|([+\-*/%]=)|(\+\+|--)|(\s-\s)|(\[(?!=\]))|(\?)|(<<<)|)"
      R"(\b(for|while|if|switch|do|return|goto|__shared__|__syncthreads|atomicAdd)\b)");
  std::vector<std::string> bad;
  std::istringstream in(code);
  std::string line;
  while (std::getline(in, line)) {
    if (line.find("#include") != std::string::npos) continue;
    if (std::regex_search(line, kForbidden)) bad.push_back(line);
  }
  return bad;
}

TEST(CudaSources, LaunchersHoldNoArithmetic) {
  const fs::path dir = fs::path(CREMA_SOURCE_DIR) / "cuda_kernels";
  int checked = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const fs::path p = entry.path();
    // launch.cu/launch.cuh hold the one grid-stride loop and its index setup.
    if (p.extension() != ".cu" || p.stem() == "launch") continue;
    ++checked;
    const std::string code = code_of(read_all(p));
    for (const std::string& line : offending_lines(code)) {
      ADD_FAILURE() << p.filename().string() << ": launcher code beyond index setup and the call "
                    << "of its body; move the math into the host-device body in "
                    << p.stem().string() << ".h:\n  " << line;
    }
    // Every launcher calls a body from crema::kernels.
    EXPECT_NE(code.find("kernels::"), std::string::npos)
        << p.filename().string() << " calls no kernel body";
  }
  EXPECT_GT(checked, 0) << "no launchers found in " << dir;
}

TEST(CudaSources, LintCatchesArithmetic) {
  const std::string src =
      "launch(s, n, \"x\", [=] __device__(int64_t i) { y[i] = a * x[i] + 1; });\n"
      "template void launch_relu_forward<float>(Stream, int64_t, const float*, float*);\n"
      "// comment with a * b\n";
  const std::vector<std::string> bad = offending_lines(code_of(src));
  ASSERT_EQ(bad.size(), 1u);
  EXPECT_NE(bad[0].find("y[i]"), std::string::npos);
}

TEST(CudaSources, EveryLauncherHasItsBody) {
  const fs::path dir = fs::path(CREMA_SOURCE_DIR) / "cuda_kernels";
  for (const auto& entry : fs::directory_iterator(dir)) {
    const fs::path p = entry.path();
    if (p.extension() != ".cu" || p.stem() == "launch") continue;
    fs::path body = p;
    body.replace_extension(".h");
    EXPECT_TRUE(fs::exists(body)) << p.filename().string() << " has no body header "
                                  << body.filename().string();
  }
}

}  // namespace
}  // namespace crema
