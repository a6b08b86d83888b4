#include "core/timer.h"

#include "core/error.h"

#if CREMA_WITH_CUDA
#include <cuda_runtime.h>

#include "core/cuda_check.h"
#endif

namespace crema {

StreamTimer::StreamTimer(const Context& ctx) : ctx_(ctx) {
#if CREMA_WITH_CUDA
  if (ctx.on_gpu())
    for (void*& e : events_) {
      cudaEvent_t ev = nullptr;
      check_cuda(cudaEventCreate(&ev), "cudaEventCreate");
      e = ev;
    }
#endif
}

StreamTimer::~StreamTimer() {
#if CREMA_WITH_CUDA
  for (void* e : events_)
    if (e) cudaEventDestroy(static_cast<cudaEvent_t>(e));
#endif
}

void StreamTimer::start() {
#if CREMA_WITH_CUDA
  if (events_[0]) {
    check_cuda(cudaEventRecord(static_cast<cudaEvent_t>(events_[0]), ctx_.cuda_stream()),
               "cudaEventRecord");
    return;
  }
#endif
  begin_ = std::chrono::steady_clock::now();
}

void StreamTimer::stop() {
#if CREMA_WITH_CUDA
  if (events_[1]) {
    check_cuda(cudaEventRecord(static_cast<cudaEvent_t>(events_[1]), ctx_.cuda_stream()),
               "cudaEventRecord");
    return;
  }
#endif
  end_ = std::chrono::steady_clock::now();
}

double StreamTimer::elapsed_ms() {
#if CREMA_WITH_CUDA
  if (events_[1]) {
    check_cuda(cudaEventSynchronize(static_cast<cudaEvent_t>(events_[1])), "cudaEventSynchronize");
    float ms = 0;
    check_cuda(cudaEventElapsedTime(&ms, static_cast<cudaEvent_t>(events_[0]),
                                    static_cast<cudaEvent_t>(events_[1])),
               "cudaEventElapsedTime");
    return ms;
  }
#endif
  return std::chrono::duration<double, std::milli>(end_ - begin_).count();
}

}  // namespace crema
