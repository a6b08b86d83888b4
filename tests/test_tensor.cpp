#include <gtest/gtest.h>

#include <filesystem>

#include "core/cuda_device.h"
#include "core/device_allocator.h"
#include "core/io.h"
#include "core/tensor.h"
#include "cuda_kernels/relu.h"
#include "proto/crema.pb.h"
#include "tests/cuda_test_util.h"

namespace crema {

TEST(Tensor, ReshapeKeepsCapacityAndCounts) {
  Tensor<float> t({2, 3, 4});
  EXPECT_EQ(t.count(), 24);
  EXPECT_EQ(t.count(1), 12);
  EXPECT_EQ(t.shape(-1), 4);
  EXPECT_EQ(t.canonical_axis(-3), 0);
  EXPECT_THROW(t.canonical_axis(3), ShapeError);
  t.mutable_cpu_data()[5] = 3.f;
  t.reshape({4, 6});
  EXPECT_EQ(t.cpu_data()[5], 3.f);  // same storage when it fits
  EXPECT_THROW(t.reshape({-1, 2}), ShapeError);
}

TEST(Tensor, ProtoRoundTripAndLegacyShape) {
  Tensor<double> t({2, 3});
  for (int i = 0; i < 6; ++i) t.mutable_cpu_data()[i] = i * 0.5;
  BlobProto p;
  t.to_proto(&p);
  Tensor<double> u;
  u.from_proto(p);
  EXPECT_EQ(u.shape(), t.shape());
  EXPECT_EQ(u.cpu_data()[5], 2.5);
  BlobProto legacy;
  legacy.set_num(1), legacy.set_channels(1), legacy.set_height(2), legacy.set_width(3);
  for (int i = 0; i < 6; ++i) legacy.add_data(static_cast<float>(i));
  EXPECT_TRUE(t.shape_equals(legacy));
  Tensor<float> wrong({3, 2});
  EXPECT_THROW(wrong.from_proto(legacy, false), ShapeError);
}

TEST(Io, NpyRoundTripAndErrors) {
  const auto dir = std::filesystem::temp_directory_path() / "crema_test_npy";
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "a.npy").string();
  std::vector<double> v = {1, -2, 3.5, 4, 5, 6};
  write_npy(path, {2, 3}, v.data());
  NpyArray a = read_npy(path);
  EXPECT_EQ(a.shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(a.data, v);
  write_file_atomic((dir / "bad.npy").string(), "not numpy");
  EXPECT_THROW(read_npy((dir / "bad.npy").string()), DataError);
  EXPECT_THROW(read_npy((dir / "missing.npy").string()), DataError);
  std::string truncated = read_file(path);
  truncated.resize(truncated.size() - 4);
  write_file_atomic((dir / "short.npy").string(), truncated);
  EXPECT_THROW(read_npy((dir / "short.npy").string()), DataError);
}

TEST(Io, ChecksummedProtoDetectsCorruption) {
  const auto dir = std::filesystem::temp_directory_path() / "crema_test_ck";
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "net.bin").string();
  NetParameter net;
  net.set_name("n");
  for (int i = 0; i < 100; ++i) net.add_layer()->set_name("layer" + std::to_string(i));
  write_checksummed_proto(path, &net);
  NetParameter back;
  read_checksummed_proto(path, &back);
  EXPECT_EQ(back.layer_size(), 100);
  std::string bytes = read_file(path);
  bytes[bytes.size() / 2] ^= 0x20;  // flip a letter's case inside a layer name
  write_file_atomic(path, bytes);
  EXPECT_THROW(read_checksummed_proto(path, &back), DataError);
  write_file_atomic(path, read_file(path).substr(0, 50));
  EXPECT_THROW(read_checksummed_proto(path, &back), DataError);
}

}  // namespace crema

namespace crema {
namespace {

TEST(SyncedMemoryHead, HostAccessAllocatesZeroedAndTracksHead) {
  SyncedMemory m(100);
  EXPECT_EQ(m.head(), SyncedMemory::Head::kUninitialized);
  EXPECT_FALSE(m.allocated());
  const auto* p = static_cast<const unsigned char*>(m.cpu_data());
  EXPECT_EQ(m.head(), SyncedMemory::Head::kHost);
  for (int i = 0; i < 100; ++i) ASSERT_EQ(p[i], 0);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 64, 0u);
  SyncedMemory empty(0);
  EXPECT_EQ(empty.cpu_data(), nullptr);
}

TEST(SyncedMemoryHead, DeviceAccessWithoutCudaIsADeviceError) {
  if (cuda_built()) GTEST_SKIP() << "this build has CUDA; covered by GpuSyncedMemory";
  SyncedMemory m(16);
  EXPECT_THROW(m.gpu_data(0, nullptr), DeviceError);
}

// Host -> device -> kernel on the device -> host, through Tensor's lazy sync.
TEST(GpuSyncedMemory, RoundTripThroughAKernel) {
  CREMA_REQUIRE_GPU();
#if CREMA_WITH_CUDA
  Context ctx = Context::gpu(0, 1);
  Tensor<float> t({4, 1000});
  for (int64_t i = 0; i < t.count(); ++i) t.mutable_cpu_data()[i] = static_cast<float>(i % 7) - 3;
  const float* x = t.gpu_data(ctx);
  EXPECT_EQ(t.data_memory()->head(), SyncedMemory::Head::kSynced);
  float* y = t.mutable_gpu_diff(ctx);  // uninitialized -> zeroed on the device
  cuda::launch_relu_forward<float>(ctx.cuda_stream(), t.count(), kernels::ReluArgs<float>{0.5f},
                                   x, y);
  EXPECT_EQ(t.data_memory()->head(), SyncedMemory::Head::kSynced);
  for (int64_t i = 0; i < t.count(); ++i) {
    const float v = t.cpu_data()[i];
    ASSERT_EQ(t.cpu_diff()[i], v > 0 ? v : 0.5f * v) << i;
  }
  // Steady state: the same shapes again take no new device allocation.
  const size_t before = device_allocator(0).stats().backend_allocs;
  { Tensor<float> u({4, 1000}); u.mutable_gpu_data(ctx); }
  { Tensor<float> u({4, 1000}); u.mutable_gpu_data(ctx); }
  EXPECT_LE(device_allocator(0).stats().backend_allocs, before + 1);
#endif
}

}  // namespace
}  // namespace crema
