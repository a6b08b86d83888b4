/// CUDA device discovery and the checks behind `--gpu` (plain C++: no CUDA headers).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace crema {

/// One CUDA device as the runtime reports it.
struct CudaDeviceInfo {
  int id = 0;
  std::string name;
  int cc_major = 0, cc_minor = 0;  ///< compute capability
  int multiprocessors = 0;
  size_t total_bytes = 0, free_bytes = 0;
};

/// True when this binary was built with the CUDA backend.
bool cuda_built();

/// The CUDA architectures compiled into this binary, e.g. {80, 90}; empty without CUDA.
std::vector<int> cuda_built_architectures();

/// Usable devices; on any runtime error (no driver, no device) returns none and, if `why` is
/// given, stores the runtime's reason there.
std::vector<CudaDeviceInfo> cuda_devices(std::string* why = nullptr);

/// Whether code built for `archs` runs on a device of compute capability major.minor: an exact
/// SASS match by major version, or PTX of an equal or older architecture that the driver JITs.
bool cuda_arch_runs_on(const std::vector<int>& archs, int cc_major, int cc_minor);

/// Throws DeviceError naming the cause when device `id` cannot run this binary: no CUDA in
/// the build, no driver, no device, id out of range, or an architecture that was not built.
CudaDeviceInfo require_cuda_device(int id);

}  // namespace crema
