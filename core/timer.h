/// StreamTimer: times the work a Context runs. On a GPU context it records CUDA events on the
/// context's stream, so a layer's time is the device's execution time rather than its launch
/// time; on the CPU it reads the steady clock.
#pragma once

#include <chrono>

#include "core/context.h"

namespace crema {

class StreamTimer {
 public:
  explicit StreamTimer(const Context& ctx);
  ~StreamTimer();
  StreamTimer(const StreamTimer&) = delete;
  StreamTimer& operator=(const StreamTimer&) = delete;

  void start();
  void stop();
  /// Milliseconds from the last start() to the last stop(); on a GPU it waits for the stop event.
  double elapsed_ms();

 private:
  const Context& ctx_;
  std::chrono::steady_clock::time_point begin_, end_;
  void* events_[2] = {nullptr, nullptr};  // cudaEvent_t on GPU contexts
};

}  // namespace crema
