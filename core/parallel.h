/// parallel_for: the CPU launcher of every kernel body (OpenMP over int64 work items).
#pragma once

#include <cstdint>

#include "core/context.h"

namespace crema {

/// Loops with fewer work items run on the calling thread.
inline constexpr int64_t kParallelMinItems = 256;

/// Calls body(i) for i in [0, n) on ctx.threads workers. The body must not throw.
template <class F>
void parallel_for(const Context& ctx, int64_t n, F&& body) {
  if (n <= 0) return;
  // Small loops are not worth waking the pool for.
  const int threads = (ctx.threads > 1 && n >= kParallelMinItems) ? ctx.threads : 1;
  if (threads == 1) {
    for (int64_t i = 0; i < n; ++i) body(i);
    return;
  }
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t i = 0; i < n; ++i) body(i);
}

/// As parallel_for but always uses ctx.threads (for few, heavy work items).
template <class F>
void parallel_for_heavy(const Context& ctx, int64_t n, F&& body) {
  if (n <= 0) return;
  const int threads = ctx.threads > 1 ? ctx.threads : 1;
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1) if (threads > 1)
  for (int64_t i = 0; i < n; ++i) body(i);
}

}  // namespace crema
