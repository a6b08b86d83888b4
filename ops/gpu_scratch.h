/// Device scratch of a trivially copyable type for layer GPU paths (RoI boxes, argmax indices,
/// sample taps): what the CPU path keeps in a std::vector, kept on the device between a
/// forward_gpu and its backward_gpu.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <type_traits>

#include "core/context.h"
#include "core/synced_memory.h"

namespace crema::cuda {

template <class U>
class DeviceScratch {
  static_assert(std::is_trivially_copyable_v<U>, "device scratch holds plain structs only");

 public:
  /// n values on ctx's device, reallocated (zero-filled) when n changes; nullptr when n is 0.
  U* resize(const Context& ctx, int64_t n) {
    const size_t bytes = static_cast<size_t>(n) * sizeof(U);
    if (!mem_ || mem_->size() != bytes) mem_ = std::make_unique<SyncedMemory>(bytes);
    return static_cast<U*>(mem_->mutable_gpu_data(ctx.device, ctx.cuda_stream()));
  }
  /// A device copy of n host values (copied on ctx's stream before this returns); nullptr when
  /// n is 0.
  const U* upload(const Context& ctx, const U* host, int64_t n) {
    if (n == 0) return nullptr;
    const size_t bytes = static_cast<size_t>(n) * sizeof(U);
    if (!mem_ || mem_->size() != bytes) mem_ = std::make_unique<SyncedMemory>(bytes);
    std::memcpy(mem_->mutable_cpu_data(), host, bytes);
    return static_cast<const U*>(mem_->gpu_data(ctx.device, ctx.cuda_stream()));
  }
  /// The device values copied to the host (waits for ctx's stream); nullptr before any resize.
  const U* to_host() const { return mem_ ? static_cast<const U*>(mem_->cpu_data()) : nullptr; }
  /// The values the last resize() returned (the backward reads what the forward wrote).
  const U* data(const Context& ctx) const {
    return mem_ ? static_cast<const U*>(mem_->gpu_data(ctx.device, ctx.cuda_stream())) : nullptr;
  }

 private:
  std::unique_ptr<SyncedMemory> mem_;
};

}  // namespace crema::cuda
