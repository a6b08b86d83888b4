/// DenseCrfLattice<T>: a permutohedral lattice over per-pixel Gaussian features (Adams et al.
/// 2010) and the linear filter it defines, with its exact transpose.
#pragma once

#include <cstdint>
#include <vector>

#include "core/context.h"
#include "cuda_kernels/dense_crf.h"
#include "ops/gpu_scratch.h"

namespace crema {

/// The lattice is built on the host: the per-pixel embedding runs as a kernel body, the hash
/// table of lattice points, the per-vertex splat lists and the blur neighbour table are built
/// sequentially (data-dependent sizes; insertion in pixel order makes vertex numbering, and so
/// every result, independent of the thread count). Filtering (splat, blur, slice) runs the
/// GATHER bodies of cuda_kernels/dense_crf.h, on the device of the Context given to build(): a
/// lattice built with a GPU Context copies its tables there and filters device buffers.
///
/// filter() computes out = scale_out ⊙ (alpha Sᵀ B_dim ... B_0 S (scale_in ⊙ in)), with S the
/// splat matrix (barycentric weights) and B_j the symmetric [1 2 1] blur along axis j. Its
/// transpose is the same with the blurs in reverse order (transpose = true), exactly, so
/// backward through a lattice filter is exact even though the filter only approximates a
/// Gaussian.
template <class T>
class DenseCrfLattice {
 public:
  /// Builds the lattice of `pixels` feature vectors f[p * dim + k] (already divided by the
  /// kernel's bandwidths), 1 <= dim <= kernels::kDenseCrfMaxDim.
  void build(const Context& ctx, const double* f, int64_t pixels, int dim);

  /// out (channels x pixels) = the filter (or its transpose) applied to in (channels x pixels).
  /// scale_in / scale_out multiply per pixel before the splat / after the slice; null = 1.
  /// Pointers are on ctx's device, which must be the one the lattice was built for.
  void filter(const Context& ctx, const T* in, T* out, int64_t channels, bool transpose,
              const T* scale_in = nullptr, const T* scale_out = nullptr);

  int dim() const { return dim_; }
  int64_t pixels() const { return pixels_; }
  int64_t vertices() const { return vertices_; }
  /// Arguments of the bodies for `channels` values per pixel.
  kernels::DenseCrfLatticeArgs args(int64_t channels) const;

  // The lattice tables, for launcher tests: vertex of each (pixel, remainder) slot, its
  // barycentric weight, per-vertex splat lists (CSR over slots) and blur neighbours
  // (axis j's pairs start at 2 * j * vertices).
  const std::vector<int32_t>& offset() const { return offset_; }
  const std::vector<T>& bary() const { return bary_; }
  const std::vector<int64_t>& splat_start() const { return start_; }
  const std::vector<int64_t>& splat_entry() const { return entry_; }
  const std::vector<int32_t>& neighbors() const { return nbr_; }

 private:
  int dim_ = 0;
  int64_t pixels_ = 0, vertices_ = 0;
  std::vector<int32_t> keys_;     // pixels * (dim + 1) * dim: simplex vertex coordinates
  std::vector<int32_t> offset_;   // pixels * (dim + 1)
  std::vector<T> bary_;           // pixels * (dim + 1)
  std::vector<int64_t> start_;    // vertices + 1
  std::vector<int64_t> entry_;    // pixels * (dim + 1)
  std::vector<int32_t> nbr_;      // (dim + 1) * vertices * 2
  std::vector<T> buf_a_, buf_b_;  // lattice values during filter()
  int device_ = -1;               // where filter() runs (build()'s Context)
  // The tables above and the filter buffers on device_ (GPU lattices only).
  cuda::DeviceScratch<int32_t> offset_d_, nbr_d_;
  cuda::DeviceScratch<T> bary_d_, buf_a_d_, buf_b_d_;
  cuda::DeviceScratch<int64_t> start_d_, entry_d_;
};

}  // namespace crema
