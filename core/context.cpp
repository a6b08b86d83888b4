#include "core/context.h"

#include <cblas.h>

#include <thread>

namespace crema {

int hardware_threads() {
  const unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

Context Context::cpu(int threads, uint64_t seed) {
  Context ctx;
  ctx.threads = threads > 0 ? threads : hardware_threads();
  ctx.seed = seed;
  // BLAS calls are never nested inside parallel_for, so the two pools do not oversubscribe.
  openblas_set_num_threads(ctx.threads);
  return ctx;
}

}  // namespace crema
