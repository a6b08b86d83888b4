#include "core/cuda_device.h"

#include <sstream>

#include "core/error.h"

#if CREMA_WITH_CUDA
#include <cuda_runtime.h>
#endif

namespace crema {

bool cuda_built() { return CREMA_WITH_CUDA != 0; }

std::vector<int> cuda_built_architectures() {
  std::vector<int> archs;
#ifdef CREMA_CUDA_ARCHITECTURES
  // CMake's list as "80,90"; entries may carry -real/-virtual suffixes.
  std::stringstream ss(CREMA_CUDA_ARCHITECTURES);
  for (std::string item; std::getline(ss, item, ',');) {
    if (!item.empty() && item[0] >= '0' && item[0] <= '9') archs.push_back(std::stoi(item));
  }
#endif
  return archs;
}

bool cuda_arch_runs_on(const std::vector<int>& archs, int cc_major, int cc_minor) {
  const int cc = cc_major * 10 + cc_minor;
  for (int a : archs) {
    // SASS for sm_XY runs on any X.Z with Z >= Y; the PTX that CMake embeds for each listed
    // architecture is JIT-compiled by the driver for any newer device.
    if (a <= cc) return true;
  }
  return false;
}

std::vector<CudaDeviceInfo> cuda_devices(std::string* why) {
  std::vector<CudaDeviceInfo> out;
#if CREMA_WITH_CUDA
  int n = 0;
  const cudaError_t err = cudaGetDeviceCount(&n);
  if (err != cudaSuccess) {
    if (why != nullptr) *why = str_cat(cudaGetErrorName(err), ": ", cudaGetErrorString(err));
    cudaGetLastError();
    return out;
  }
  for (int i = 0; i < n; ++i) {
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, i) != cudaSuccess) continue;
    CudaDeviceInfo d;
    d.id = i;
    d.name = prop.name;
    d.cc_major = prop.major;
    d.cc_minor = prop.minor;
    d.multiprocessors = prop.multiProcessorCount;
    d.total_bytes = prop.totalGlobalMem;
    if (cudaSetDevice(i) == cudaSuccess) cudaMemGetInfo(&d.free_bytes, &d.total_bytes);
    out.push_back(d);
  }
  if (n == 0 && why != nullptr) *why = "the CUDA runtime reports 0 devices";
#else
  if (why != nullptr) *why = "this build has no CUDA support";
#endif
  return out;
}

namespace {
std::string arch_list(const std::vector<int>& archs) {
  std::string s;
  for (int a : archs) s += str_cat(s.empty() ? "" : ", ", "sm_", a);
  return s;
}
}  // namespace

CudaDeviceInfo require_cuda_device(int id) {
  if (!cuda_built()) {
    throw DeviceError(str_cat("--gpu ", id,
                              ": this build of Crema has no CUDA support (configured with "
                              "CREMA_CUDA=OFF or without nvcc); run on the CPU by leaving out "
                              "--gpu, or rebuild with the CUDA toolkit installed"));
  }
  std::string why;
  const std::vector<CudaDeviceInfo> devs = cuda_devices(&why);
  if (devs.empty()) {
    throw DeviceError(str_cat("--gpu ", id, ": no usable CUDA device (", why,
                              "); check the NVIDIA driver with `nvidia-smi`, or run on the CPU by "
                              "leaving out --gpu"));
  }
  if (id < 0 || id >= static_cast<int>(devs.size())) {
    throw DeviceError(str_cat("--gpu ", id, ": no such device; this machine has ", devs.size(),
                              " CUDA device(s), ids 0..", devs.size() - 1,
                              " (see `crema device_query`)"));
  }
  const CudaDeviceInfo& d = devs[id];
  const std::vector<int> archs = cuda_built_architectures();
  if (!cuda_arch_runs_on(archs, d.cc_major, d.cc_minor)) {
    throw DeviceError(str_cat("--gpu ", id, ": ", d.name, " has compute capability ", d.cc_major,
                              ".", d.cc_minor, " but this binary was built for ", arch_list(archs),
                              "; rebuild with -DCMAKE_CUDA_ARCHITECTURES=", d.cc_major,
                              d.cc_minor));
  }
  return d;
}

}  // namespace crema
