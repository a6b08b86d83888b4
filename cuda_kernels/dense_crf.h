/// DenseCRF kernel bodies: Gaussian features, permutohedral-lattice filtering (Adams, Baek and
/// Davis, "Fast High-Dimensional Filtering Using the Permutohedral Lattice", Eurographics 2010)
/// and the exact dense Gaussian used for tiny images and tests.
#pragma once

#include <cmath>
#include <cstdint>

#include "core/hd.h"
#include "cuda_kernels/launch.h"

namespace crema::kernels {

/// Largest feature dimension: 5 for the bilateral kernel (x, y, r, g, b).
inline constexpr int kDenseCrfMaxDim = 5;

/// Per-pixel Gaussian features of one image: dim 2 = (x, y) * inv_theta_xy; dim 5 adds the three
/// colour planes * inv_theta_rgb.
struct DenseCrfFeatureArgs {
  int64_t pixels = 0;  ///< H * W
  int64_t width = 0;
  int dim = 2;
  double inv_theta_xy = 1, inv_theta_rgb = 1;
};

/// A lattice of `dim`-d features: each pixel has dim + 1 enclosing simplex vertices.
struct DenseCrfLatticeArgs {
  int64_t pixels = 0;    ///< H * W
  int64_t vertices = 0;  ///< distinct lattice points
  int64_t channels = 0;  ///< values filtered per pixel (L)
  int dim = 2;
  double alpha = 1;  ///< slice scale 1 / (1 + 2^-dim) (Adams et al.)
};

// Work item p: one pixel, x = p % width, y = p / width. Reads image[c * pixels + p] (c < 3, only
// when dim == 5); writes f[p * dim + k], k < dim. GATHER. CRF-as-RNN eq. (2): the kernels
// exp(-|p_i - p_j|^2 / 2 theta_gamma^2) and exp(-|p_i - p_j|^2 / 2 theta_alpha^2 - |I_i - I_j|^2 /
// 2 theta_beta^2) are unit Gaussians in these scaled features.
template <class T>
CREMA_HD inline void dense_crf_features(int64_t p, const DenseCrfFeatureArgs& a, const T* image,
                                        double* f) {
  double* out = f + p * a.dim;
  out[0] = static_cast<double>(p % a.width) * a.inv_theta_xy;
  out[1] = static_cast<double>(p / a.width) * a.inv_theta_xy;
  for (int c = 0; c + 2 < a.dim; ++c)
    out[2 + c] = static_cast<double>(image[c * a.pixels + p]) * a.inv_theta_rgb;
}

// Work item p: one pixel. Reads its features f[p * dim + k]; writes, for each remainder
// r in [0, dim], the first dim integer coordinates of the enclosing simplex's vertex r to
// keys[(p * (dim + 1) + r) * dim + k] and its barycentric weight to bary[p * (dim + 1) + r].
// GATHER. Adams et al. 2010 §3.1 (elevate into H_d scaled for a unit-variance Gaussian, round to
// the nearest remainder-0 point, sort the differential, barycentric weights of the simplex).
template <class T>
CREMA_HD inline void dense_crf_embed(int64_t p, const DenseCrfLatticeArgs& a, const double* f,
                                     int32_t* keys, T* bary) {
  constexpr int kMax = kDenseCrfMaxDim + 2;
  const int d = a.dim;
  const double d1 = d + 1;
  const double* fp = f + p * d;
  // Elevation: E = B * diag(scale) * f, B the (d+1) x d basis of the hyperplane sum(E) = 0.
  double elevated[kMax];
  double sum_cf = 0;
  for (int i = d; i > 0; --i) {
    const double scale = std::sqrt(2.0 / 3.0) * d1 / std::sqrt(static_cast<double>(i * (i + 1)));
    const double cf = fp[i - 1] * scale;
    elevated[i] = sum_cf - i * cf;
    sum_cf += cf;
  }
  elevated[0] = sum_cf;
  // Nearest remainder-0 lattice point (coordinates multiples of d + 1), then its excess.
  double rem0[kMax];
  int rank[kMax];
  int excess = 0;
  for (int i = 0; i <= d; ++i) {
    const double v = elevated[i] / d1;
    const double up = std::ceil(v) * d1, down = std::floor(v) * d1;
    rem0[i] = (up - elevated[i] < elevated[i] - down) ? up : down;
    excess += static_cast<int>(std::lround(rem0[i] / d1));
    rank[i] = 0;
  }
  // Rank of each coordinate's residual (a sort without moving anything).
  for (int i = 0; i < d; ++i) {
    for (int j = i + 1; j <= d; ++j) {
      if (elevated[i] - rem0[i] < elevated[j] - rem0[j])
        ++rank[i];
      else
        ++rank[j];
    }
  }
  // Walk back onto the hyperplane when the rounding left a nonzero coordinate sum.
  if (excess > 0) {
    for (int i = 0; i <= d; ++i) {
      if (rank[i] >= d + 1 - excess) {
        rem0[i] -= d1;
        rank[i] += excess - (d + 1);
      } else {
        rank[i] += excess;
      }
    }
  } else if (excess < 0) {
    for (int i = 0; i <= d; ++i) {
      if (rank[i] < -excess) {
        rem0[i] += d1;
        rank[i] += (d + 1) + excess;
      } else {
        rank[i] += excess;
      }
    }
  }
  double w[kMax];
  for (int i = 0; i <= d + 1; ++i) w[i] = 0;
  for (int i = 0; i <= d; ++i) {
    const double v = (elevated[i] - rem0[i]) / d1;
    w[d - rank[i]] += v;
    w[d + 1 - rank[i]] -= v;
  }
  w[0] += 1.0 + w[d + 1];
  for (int r = 0; r <= d; ++r) {
    int32_t* key = keys + (p * (d + 1) + r) * d;
    for (int i = 0; i < d; ++i)
      key[i] = static_cast<int32_t>(std::lround(rem0[i])) + (rank[i] <= d - r ? r : r - (d + 1));
    bary[p * (d + 1) + r] = static_cast<T>(w[r]);
  }
}

// Work item i in [0, vertices * channels): vertex v = i / channels, channel c = i % channels.
// Reads the (pixel, remainder) slots splatting onto v, entry[e] = p * (dim + 1) + r for e in
// [start[v], start[v + 1]), and in[c * pixels + p] (times scale[p] when scale is not null);
// writes lat[i] = sum bary * scale * in. GATHER (per-vertex lists replace the paper's scatter).
// Adams et al. 2010 §3.2 "splat".
template <class T>
CREMA_HD inline void dense_crf_splat(int64_t i, const DenseCrfLatticeArgs& a, const int64_t* start,
                                     const int64_t* entry, const T* bary, const T* scale,
                                     const T* in, T* lat) {
  const int64_t v = i / a.channels, c = i % a.channels;
  const T* plane = in + c * a.pixels;
  T sum = T(0);
  for (int64_t e = start[v]; e < start[v + 1]; ++e) {
    const int64_t p = entry[e] / (a.dim + 1);
    const T s = scale ? scale[p] : T(1);
    sum += bary[entry[e]] * s * plane[p];
  }
  lat[i] = sum;
}

// Work item i in [0, vertices * channels): vertex v = i / channels, channel c = i % channels.
// Reads in[v * channels + c] and the two neighbours of v along one lattice axis,
// nbr[2 * v] and nbr[2 * v + 1] (-1 when absent: value 0); writes
// out[i] = in[i] + (in[n1] + in[n2]) / 2. GATHER. Adams et al. 2010 §3.3 "blur" ([1 2 1]
// kernel per axis; symmetric, so the transpose of a blur sequence runs the axes in reverse).
template <class T>
CREMA_HD inline void dense_crf_blur(int64_t i, const DenseCrfLatticeArgs& a, const int32_t* nbr,
                                    const T* in, T* out) {
  const int64_t v = i / a.channels, c = i % a.channels;
  const int32_t n1 = nbr[2 * v], n2 = nbr[2 * v + 1];
  const T v1 = n1 >= 0 ? in[n1 * a.channels + c] : T(0);
  const T v2 = n2 >= 0 ? in[n2 * a.channels + c] : T(0);
  out[i] = in[i] + T(0.5) * (v1 + v2);
}

// Work item i in [0, channels * pixels): channel c = i / pixels, pixel p = i % pixels. Reads the
// pixel's dim + 1 vertices offset[p * (dim + 1) + r] with weights bary[...] and
// lat[vertex * channels + c]; writes out[i] = alpha * scale[p] * sum_r bary * lat (scale 1 when
// null). GATHER. Adams et al. 2010 §3.4 "slice".
template <class T>
CREMA_HD inline void dense_crf_slice(int64_t i, const DenseCrfLatticeArgs& a, const int32_t* offset,
                                     const T* bary, const T* scale, const T* lat, T* out) {
  const int64_t c = i / a.pixels, p = i % a.pixels;
  const int64_t base = p * (a.dim + 1);
  T sum = T(0);
  for (int r = 0; r <= a.dim; ++r) sum += bary[base + r] * lat[offset[base + r] * a.channels + c];
  const T s = scale ? scale[p] : T(1);
  out[i] = static_cast<T>(a.alpha) * s * sum;
}

// Work item i in [0, pixels * pixels): row q = i / pixels, column p = i % pixels. Reads the
// features f[q * dim + k] and f[p * dim + k]; writes k[i] = exp(-|f_q - f_p|^2 / 2), the exact
// dense Gaussian kernel (symmetric bit for bit: the squared differences are equal). GATHER.
template <class T>
CREMA_HD inline void dense_crf_gauss(int64_t i, const DenseCrfFeatureArgs& a, const double* f,
                                     T* kernel) {
  const int64_t q = i / a.pixels, p = i % a.pixels;
  double dist2 = 0;
  for (int k = 0; k < a.dim; ++k) {
    const double diff = f[q * a.dim + k] - f[p * a.dim + k];
    dist2 += diff * diff;
  }
  kernel[i] = static_cast<T>(std::exp(-0.5 * dist2));
}

// Work item i in [0, channels * pixels): pixel p = i % pixels. Reads in[i] and scale[p]; writes
// out[i] = scale[p] * in[i] (the per-pixel normalisation of the exact-filter path). GATHER.
template <class T>
CREMA_HD inline void dense_crf_scale(int64_t i, const DenseCrfFeatureArgs& a, const T* scale,
                                     const T* in, T* out) {
  out[i] = scale[i % a.pixels] * in[i];
}

// Work item i in [0, pixels): reads the filter response of a constant 1, norm[i]; writes
// norm[i] = 1 / (norm[i] + 1e-20), CRF-as-RNN's normaliser (its guard; a filter's sum includes
// the pixel's own weight, far above it). GATHER.
template <class T>
CREMA_HD inline void dense_crf_inverse(int64_t i, T* norm) {
  norm[i] = T(1) / (norm[i] + T(1e-20));
}

}  // namespace crema::kernels

namespace crema::cuda {

/// Launchers of the bodies above (cuda_kernels/dense_crf.cu; CUDA builds only). n is the number
/// of work items each body's comment gives.
template <class T>
void launch_dense_crf_features(Stream s, int64_t n, const kernels::DenseCrfFeatureArgs& a,
                               const T* image, double* f);
template <class T>
void launch_dense_crf_embed(Stream s, int64_t n, const kernels::DenseCrfLatticeArgs& a,
                            const double* f, int32_t* keys, T* bary);
template <class T>
void launch_dense_crf_splat(Stream s, int64_t n, const kernels::DenseCrfLatticeArgs& a,
                            const int64_t* start, const int64_t* entry, const T* bary,
                            const T* scale, const T* in, T* lat);
template <class T>
void launch_dense_crf_blur(Stream s, int64_t n, const kernels::DenseCrfLatticeArgs& a,
                           const int32_t* nbr, const T* in, T* out);
template <class T>
void launch_dense_crf_slice(Stream s, int64_t n, const kernels::DenseCrfLatticeArgs& a,
                            const int32_t* offset, const T* bary, const T* scale, const T* lat,
                            T* out);
template <class T>
void launch_dense_crf_gauss(Stream s, int64_t n, const kernels::DenseCrfFeatureArgs& a,
                            const double* f, T* kernel);
template <class T>
void launch_dense_crf_scale(Stream s, int64_t n, const kernels::DenseCrfFeatureArgs& a,
                            const T* scale, const T* in, T* out);
template <class T>
void launch_dense_crf_inverse(Stream s, int64_t n, T* norm);

}  // namespace crema::cuda
