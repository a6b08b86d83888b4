#include "ops/dense_crf_lattice.h"

#include <cmath>
#include <utility>

#include "core/error.h"
#include "core/parallel.h"

namespace crema {
namespace {

/// Open-addressing hash table from dim integer coordinates to a dense vertex index.
class LatticeHash {
 public:
  LatticeHash(int dim, int64_t expected) : dim_(dim) {
    int64_t cap = 16;
    while (cap < 2 * expected) cap *= 2;
    slots_.assign(static_cast<size_t>(cap), -1);
    mask_ = cap - 1;
    keys_.reserve(static_cast<size_t>(expected * dim));
  }

  /// Index of `key`, inserting it as the next index when absent.
  int32_t find_or_insert(const int32_t* key) {
    for (int64_t h = hash(key) & mask_;; h = (h + 1) & mask_) {
      const int32_t s = slots_[h];
      if (s < 0) {
        slots_[h] = size();
        keys_.insert(keys_.end(), key, key + dim_);
        return slots_[h];
      }
      if (equal(s, key)) return s;
    }
  }

  /// Index of `key`, or -1.
  int32_t find(const int32_t* key) const {
    for (int64_t h = hash(key) & mask_;; h = (h + 1) & mask_) {
      const int32_t s = slots_[h];
      if (s < 0 || equal(s, key)) return s;
    }
  }

  int32_t size() const { return static_cast<int32_t>(keys_.size() / dim_); }
  const int32_t* key(int32_t v) const { return keys_.data() + static_cast<int64_t>(v) * dim_; }

 private:
  int64_t hash(const int32_t* key) const {
    uint64_t h = 0x9E3779B97F4A7C15ull;
    for (int i = 0; i < dim_; ++i) {
      h ^= static_cast<uint32_t>(key[i]);
      h *= 0xBF58476D1CE4E5B9ull;
      h ^= h >> 29;
    }
    return static_cast<int64_t>(h);
  }
  bool equal(int32_t s, const int32_t* key) const {
    const int32_t* k = keys_.data() + static_cast<int64_t>(s) * dim_;
    for (int i = 0; i < dim_; ++i)
      if (k[i] != key[i]) return false;
    return true;
  }

  int dim_;
  int64_t mask_;
  std::vector<int32_t> slots_;
  std::vector<int32_t> keys_;
};

}  // namespace

template <class T>
kernels::DenseCrfLatticeArgs DenseCrfLattice<T>::args(int64_t channels) const {
  kernels::DenseCrfLatticeArgs a;
  a.pixels = pixels_;
  a.vertices = vertices_;
  a.channels = channels;
  a.dim = dim_;
  a.alpha = 1.0 / (1.0 + std::pow(2.0, -dim_));
  return a;
}

template <class T>
void DenseCrfLattice<T>::build(const Context& ctx, const double* f, int64_t pixels, int dim) {
  CREMA_ASSERT(dim >= 1 && dim <= kernels::kDenseCrfMaxDim && pixels > 0);
  dim_ = dim;
  pixels_ = pixels;
  const int64_t slots = pixels * (dim + 1);
  keys_.resize(static_cast<size_t>(slots * dim));
  bary_.resize(static_cast<size_t>(slots));
  offset_.resize(static_cast<size_t>(slots));
  const kernels::DenseCrfLatticeArgs a = args(1);
  int32_t* keys = keys_.data();
  T* bary = bary_.data();
  parallel_for(ctx, pixels, [&](int64_t p) { kernels::dense_crf_embed(p, a, f, keys, bary); });

  LatticeHash table(dim, slots);
  for (int64_t s = 0; s < slots; ++s) offset_[s] = table.find_or_insert(keys + s * dim);
  vertices_ = table.size();

  // Per-vertex splat lists, slots in increasing order (a fixed summation order).
  start_.assign(static_cast<size_t>(vertices_ + 1), 0);
  for (int64_t s = 0; s < slots; ++s) ++start_[offset_[s] + 1];
  for (int64_t v = 0; v < vertices_; ++v) start_[v + 1] += start_[v];
  entry_.resize(static_cast<size_t>(slots));
  std::vector<int64_t> fill(start_.begin(), start_.end() - 1);
  for (int64_t s = 0; s < slots; ++s) entry_[fill[offset_[s]]++] = s;

  // Blur neighbours along each axis j of the (dim + 1)-d lattice: key -+ (1, ..., 1) with
  // coordinate j moved by ±dim instead (only the first dim coordinates are stored).
  const int64_t nv = vertices_;
  nbr_.resize(static_cast<size_t>((dim + 1) * nv * 2));
  int32_t* nbr = nbr_.data();
  parallel_for(ctx, (dim + 1) * nv, [&](int64_t i) {
    const int j = static_cast<int>(i / nv);
    const int32_t* key = table.key(static_cast<int32_t>(i % nv));
    int32_t n1[kernels::kDenseCrfMaxDim], n2[kernels::kDenseCrfMaxDim];
    for (int k = 0; k < dim; ++k) {
      n1[k] = key[k] - 1;
      n2[k] = key[k] + 1;
    }
    if (j < dim) {
      n1[j] = key[j] + dim;
      n2[j] = key[j] - dim;
    }
    nbr[2 * i] = table.find(n1);
    nbr[2 * i + 1] = table.find(n2);
  });
  device_ = ctx.device;
  if (ctx.on_gpu()) {
    offset_d_.upload(ctx, offset_.data(), slots);
    bary_d_.upload(ctx, bary_.data(), slots);
    start_d_.upload(ctx, start_.data(), vertices_ + 1);
    entry_d_.upload(ctx, entry_.data(), slots);
    nbr_d_.upload(ctx, nbr_.data(), static_cast<int64_t>(nbr_.size()));
  }
}

template <class T>
void DenseCrfLattice<T>::filter(const Context& ctx, const T* in, T* out, int64_t channels,
                                bool transpose, const T* scale_in, const T* scale_out) {
  CREMA_ASSERT(ctx.device == device_ && vertices_ > 0);
  const kernels::DenseCrfLatticeArgs a = args(channels);
  const int64_t n = vertices_ * channels;
  const bool gpu = ctx.on_gpu();
  if (!gpu) {
    buf_a_.resize(static_cast<size_t>(n));
    buf_b_.resize(static_cast<size_t>(n));
  }
  T* cur = gpu ? buf_a_d_.resize(ctx, n) : buf_a_.data();
  T* next = gpu ? buf_b_d_.resize(ctx, n) : buf_b_.data();
  const int64_t* start = gpu ? start_d_.data(ctx) : start_.data();
  const int64_t* entry = gpu ? entry_d_.data(ctx) : entry_.data();
  const T* bary = gpu ? bary_d_.data(ctx) : bary_.data();
  const int32_t* offset = gpu ? offset_d_.data(ctx) : offset_.data();
  const int32_t* nbrs = gpu ? nbr_d_.data(ctx) : nbr_.data();
  // The launcher calls are T-dependent, so a CPU-only build never instantiates them.
  if constexpr (CREMA_WITH_CUDA != 0) {
    if (gpu) {
      const cuda::Stream st = ctx.cuda_stream();
      cuda::launch_dense_crf_splat<T>(st, n, a, start, entry, bary, scale_in, in, cur);
      for (int s = 0; s <= dim_; ++s) {
        const int j = transpose ? dim_ - s : s;
        cuda::launch_dense_crf_blur<T>(st, n, a, nbrs + static_cast<int64_t>(j) * vertices_ * 2,
                                       cur, next);
        std::swap(cur, next);
      }
      cuda::launch_dense_crf_slice<T>(st, channels * pixels_, a, offset, bary, scale_out, cur, out);
      return;
    }
  }
  parallel_for(ctx, n, [&](int64_t i) {
    kernels::dense_crf_splat(i, a, start, entry, bary, scale_in, in, cur);
  });
  for (int s = 0; s <= dim_; ++s) {
    const int j = transpose ? dim_ - s : s;
    const int32_t* nbr = nbrs + static_cast<int64_t>(j) * vertices_ * 2;
    const T* src = cur;
    T* dst = next;
    parallel_for(ctx, n, [&](int64_t i) { kernels::dense_crf_blur(i, a, nbr, src, dst); });
    std::swap(cur, next);
  }
  const T* lat = cur;
  parallel_for(ctx, channels * pixels_, [&](int64_t i) {
    kernels::dense_crf_slice(i, a, offset, bary, scale_out, lat, out);
  });
}

template class DenseCrfLattice<float>;
template class DenseCrfLattice<double>;

}  // namespace crema
