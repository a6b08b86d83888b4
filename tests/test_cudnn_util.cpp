// core/cudnn_util: the host-side helpers run here (status messages, int range, the workspace
// limit's environment variable); the algorithm cache and cuBLAS wrappers need a GPU (Gpu*).
#include <gtest/gtest.h>

#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "core/blas.h"
#include "core/cudnn_util.h"
#include "tests/cuda_test_util.h"
#include "tests/test_util.h"

namespace crema {
namespace {

#if CREMA_WITH_CUDA
std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const DeviceError& e) {
    return e.what();
  }
  return "";
}
#endif

TEST(CudnnUtil, StatusChecksNameTheCallAndCause) {
#if CREMA_WITH_CUDA
  EXPECT_NO_THROW(cudnn::check(CUDNN_STATUS_SUCCESS, "cudnnFoo"));
  const std::string msg = message_of([] { cudnn::check(CUDNN_STATUS_BAD_PARAM, "cudnnFoo"); });
  EXPECT_EQ(msg.rfind("cudnnFoo failed: ", 0), 0u) << msg;
  EXPECT_NE(msg.find(cudnnGetErrorString(CUDNN_STATUS_BAD_PARAM)), std::string::npos) << msg;
  const std::string blas =
      message_of([] { cudnn::check_cublas(CUBLAS_STATUS_INVALID_VALUE, "cublasSgemm"); });
  EXPECT_NE(blas.find("cublasSgemm failed: CUBLAS_STATUS_INVALID_VALUE"), std::string::npos)
      << blas;
#else
  GTEST_SKIP() << "CUDA builds only";
#endif
}

TEST(CudnnUtil, ToIntRejectsValuesBeyondInt) {
#if CREMA_WITH_CUDA
  EXPECT_EQ(cudnn::to_int(2147483647, "n"), 2147483647);
  EXPECT_EQ(cudnn::to_int(-5, "n"), -5);
  const std::string msg = message_of([] { cudnn::to_int(int64_t{1} << 31, "a tensor's N"); });
  EXPECT_NE(msg.find("a tensor's N is 2147483648"), std::string::npos) << msg;
#else
  GTEST_SKIP() << "CUDA builds only";
#endif
}

TEST(CudnnUtil, WorkspaceLimitFromEnvironment) {
#if CREMA_WITH_CUDA
  const char* saved = std::getenv("CREMA_CUDNN_WORKSPACE_MB");
  const std::string keep = saved != nullptr ? saved : "";
  ::unsetenv("CREMA_CUDNN_WORKSPACE_MB");
  EXPECT_EQ(cudnn::workspace_limit_bytes(), size_t{512} << 20);
  ::setenv("CREMA_CUDNN_WORKSPACE_MB", "64", 1);
  EXPECT_EQ(cudnn::workspace_limit_bytes(), size_t{64} << 20);
  ::setenv("CREMA_CUDNN_WORKSPACE_MB", "0", 1);
  EXPECT_EQ(cudnn::workspace_limit_bytes(), 0u);
  for (const char* bad : {"-1", "12MB", "lots"}) {
    ::setenv("CREMA_CUDNN_WORKSPACE_MB", bad, 1);
    EXPECT_THROW(cudnn::workspace_limit_bytes(), ConfigError) << bad;
  }
  if (saved != nullptr)
    ::setenv("CREMA_CUDNN_WORKSPACE_MB", keep.c_str(), 1);
  else
    ::unsetenv("CREMA_CUDNN_WORKSPACE_MB");
#else
  GTEST_SKIP() << "CUDA builds only";
#endif
}

// The cache searches once per distinct shape and pass, and honours the workspace limit.
TEST(GpuCudnnUtil, ConvAlgoCacheSearchesOncePerShape) {
  CREMA_REQUIRE_GPU();
#if CREMA_WITH_CUDA
  Context gpu = Context::gpu(0, 1);
  const cudnnHandle_t h = cudnn::handle(gpu);
  cudnn::TensorDesc x, y, x2, y2;
  cudnn::FilterDesc w;
  cudnn::ConvDesc conv;
  x.set_4d<float>(2, 4, 9, 9);
  y.set_4d<float>(2, 8, 9, 9);
  x2.set_4d<float>(3, 4, 9, 9);
  y2.set_4d<float>(3, 8, 9, 9);
  w.set<float>(8, 2, 3, 3);
  conv.set<float>(1, 1, 1, 1, 1, 1, 2);
  cudnn::ConvAlgoCache cache;
  const cudnn::ConvAlgo a = cache.get(h, cudnn::ConvPass::kForward, x, w, conv, y);
  EXPECT_EQ(cache.searches(), 1);
  const cudnn::ConvAlgo b = cache.get(h, cudnn::ConvPass::kForward, x, w, conv, y);
  EXPECT_EQ(cache.searches(), 1);
  EXPECT_EQ(a.algo, b.algo);
  EXPECT_EQ(a.workspace, b.workspace);
  cache.get(h, cudnn::ConvPass::kBackwardData, x, w, conv, y);
  cache.get(h, cudnn::ConvPass::kBackwardFilter, x, w, conv, y);
  EXPECT_EQ(cache.searches(), 3);
  cache.get(h, cudnn::ConvPass::kForward, x2, w, conv, y2);
  EXPECT_EQ(cache.searches(), 4);

  ::setenv("CREMA_CUDNN_WORKSPACE_MB", "0", 1);
  cudnn::ConvAlgoCache tight;
  for (const auto pass : {cudnn::ConvPass::kForward, cudnn::ConvPass::kBackwardData,
                          cudnn::ConvPass::kBackwardFilter})
    EXPECT_EQ(tight.get(h, pass, x, w, conv, y).workspace, 0u);
  ::unsetenv("CREMA_CUDNN_WORKSPACE_MB");
#endif
}

// Row-major cuBLAS GEMM and GEMV against OpenBLAS for every transpose combination.
TEST(GpuCudnnUtil, GemmAndGemvMatchBlas) {
  CREMA_REQUIRE_GPU();
#if CREMA_WITH_CUDA
  Context gpu = Context::gpu(0, 1);
  const int64_t m = 7, n = 5, k = 9;
  for (const bool ta : {false, true}) {
    for (const bool tb : {false, true}) {
      SCOPED_TRACE(std::string(ta ? "A^T" : "A") + (tb ? " B^T" : " B"));
      const auto a = test::random_vector<double>(m * k, 1);
      const auto b = test::random_vector<double>(k * n, 2);
      auto want = test::random_vector<double>(m * n, 3);
      testing::DeviceBuffer<double> da(a), db(b), dc(want);
      blas::gemm<double>(ta, tb, m, n, k, 1.5, a.data(), b.data(), 0.5, want.data());
      cudnn::gemm<double>(gpu, ta, tb, m, n, k, 1.5, da.get(), db.get(), 0.5, dc.get());
      cudaStreamSynchronize(gpu.cuda_stream());
      const auto got = dc.to_host();
      test::expect_near(got.data(), want.data(), m * n, 1e-12, "gemm");
    }
  }
  for (const bool ta : {false, true}) {
    const auto a = test::random_vector<double>(m * n, 4);
    const auto x = test::random_vector<double>(ta ? m : n, 5);
    auto want = test::random_vector<double>(ta ? n : m, 6);
    testing::DeviceBuffer<double> da(a), dx(x), dy(want);
    blas::gemv<double>(ta, m, n, 2.0, a.data(), x.data(), 1.0, want.data());
    cudnn::gemv<double>(gpu, ta, m, n, 2.0, da.get(), dx.get(), 1.0, dy.get());
    cudaStreamSynchronize(gpu.cuda_stream());
    const auto got = dy.to_host();
    test::expect_near(got.data(), want.data(), static_cast<int64_t>(want.size()), 1e-12, "gemv");
  }
#endif
}

}  // namespace
}  // namespace crema
