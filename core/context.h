/// Execution context passed to every layer call: device, threads and seed (no global mode).
#pragma once

#include <cstdint>

namespace crema {

/// Where and how a computation runs. device < 0 is the CPU.
struct Context {
  int device = -1;
  int threads = 1;       ///< CPU worker threads for parallel_for and BLAS.
  uint64_t seed = 1701;  ///< Base seed for fillers, dropout and data order.

  bool on_gpu() const { return device >= 0; }

  /// A CPU context using `threads` workers (0 = all cores); also sets BLAS's thread count.
  static Context cpu(int threads = 0, uint64_t seed = 1701);
};

/// Number of hardware threads available to this process.
int hardware_threads();

}  // namespace crema
