/// Declarations shared by every CUDA launcher, free of CUDA headers so plain C++ can include them.
#pragma once

#include <cstdint>

struct CUstream_st;

namespace crema::cuda {

/// A CUDA stream handle (cudaStream_t) without including the CUDA runtime.
using Stream = CUstream_st*;

/// Throws DeviceError naming `kernel` if the last launch on this thread failed.
void check_launch(const char* kernel);

}  // namespace crema::cuda
