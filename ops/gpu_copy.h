/// Device-to-device copies for layer GPU paths (in-place input copies, identity passes).
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/context.h"

namespace crema::cuda {

/// Copies `bytes` from src to dst, both on ctx's device, on ctx's stream; throws DeviceError
/// naming the failure. CUDA builds only.
void copy_bytes(const Context& ctx, const void* src, void* dst, size_t bytes);

/// Sets `bytes` at dst (on ctx's device) to zero, on ctx's stream.
void zero_bytes(const Context& ctx, void* dst, size_t bytes);

/// Copies `rows` rows of `row_bytes` from src (rows src_pitch bytes apart) to dst (rows dst_pitch
/// bytes apart), both on ctx's device, on ctx's stream (one cudaMemcpy2DAsync).
void copy_rows_bytes(const Context& ctx, int64_t rows, size_t row_bytes, const void* src,
                     size_t src_pitch, void* dst, size_t dst_pitch);

/// copy_rows_bytes in elements.
template <class T>
void copy_rows(const Context& ctx, int64_t rows, int64_t width, const T* src, int64_t src_pitch,
               T* dst, int64_t dst_pitch) {
  copy_rows_bytes(ctx, rows, width * sizeof(T), src, src_pitch * sizeof(T), dst,
                  dst_pitch * sizeof(T));
}

/// Copies n elements from src to dst on ctx's device (see copy_bytes).
template <class T>
void copy(const Context& ctx, int64_t n, const T* src, T* dst) {
  copy_bytes(ctx, src, dst, static_cast<size_t>(n) * sizeof(T));
}

}  // namespace crema::cuda
