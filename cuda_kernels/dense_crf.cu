#include "cuda_kernels/dense_crf.h"
#include "cuda_kernels/launch.cuh"

namespace crema::cuda {

template <class T>
void launch_dense_crf_features(Stream s, int64_t n, const kernels::DenseCrfFeatureArgs& a,
                               const T* image, double* f) {
  launch(s, n, "dense_crf_features",
         [=] __device__(int64_t i) { kernels::dense_crf_features(i, a, image, f); });
}

template <class T>
void launch_dense_crf_embed(Stream s, int64_t n, const kernels::DenseCrfLatticeArgs& a,
                            const double* f, int32_t* keys, T* bary) {
  launch(s, n, "dense_crf_embed",
         [=] __device__(int64_t i) { kernels::dense_crf_embed(i, a, f, keys, bary); });
}

template <class T>
void launch_dense_crf_splat(Stream s, int64_t n, const kernels::DenseCrfLatticeArgs& a,
                            const int64_t* start, const int64_t* entry, const T* bary,
                            const T* scale, const T* in, T* lat) {
  launch(s, n, "dense_crf_splat", [=] __device__(int64_t i) {
    kernels::dense_crf_splat(i, a, start, entry, bary, scale, in, lat);
  });
}

template <class T>
void launch_dense_crf_blur(Stream s, int64_t n, const kernels::DenseCrfLatticeArgs& a,
                           const int32_t* nbr, const T* in, T* out) {
  launch(s, n, "dense_crf_blur",
         [=] __device__(int64_t i) { kernels::dense_crf_blur(i, a, nbr, in, out); });
}

template <class T>
void launch_dense_crf_slice(Stream s, int64_t n, const kernels::DenseCrfLatticeArgs& a,
                            const int32_t* offset, const T* bary, const T* scale, const T* lat,
                            T* out) {
  launch(s, n, "dense_crf_slice", [=] __device__(int64_t i) {
    kernels::dense_crf_slice(i, a, offset, bary, scale, lat, out);
  });
}

template <class T>
void launch_dense_crf_gauss(Stream s, int64_t n, const kernels::DenseCrfFeatureArgs& a,
                            const double* f, T* kernel) {
  launch(s, n, "dense_crf_gauss",
         [=] __device__(int64_t i) { kernels::dense_crf_gauss(i, a, f, kernel); });
}

template <class T>
void launch_dense_crf_scale(Stream s, int64_t n, const kernels::DenseCrfFeatureArgs& a,
                            const T* scale, const T* in, T* out) {
  launch(s, n, "dense_crf_scale",
         [=] __device__(int64_t i) { kernels::dense_crf_scale(i, a, scale, in, out); });
}

template <class T>
void launch_dense_crf_inverse(Stream s, int64_t n, T* norm) {
  launch(s, n, "dense_crf_inverse",
         [=] __device__(int64_t i) { kernels::dense_crf_inverse(i, norm); });
}

#define CREMA_INSTANTIATE_DENSE_CRF(T)                                                             \
  template void launch_dense_crf_features<T>(Stream, int64_t, const kernels::DenseCrfFeatureArgs&, \
                                             const T*, double*);                                   \
  template void launch_dense_crf_embed<T>(Stream, int64_t, const kernels::DenseCrfLatticeArgs&,    \
                                          const double*, int32_t*, T*);                            \
  template void launch_dense_crf_splat<T>(Stream, int64_t, const kernels::DenseCrfLatticeArgs&,    \
                                          const int64_t*, const int64_t*, const T*, const T*,      \
                                          const T*, T*);                                           \
  template void launch_dense_crf_blur<T>(Stream, int64_t, const kernels::DenseCrfLatticeArgs&,     \
                                         const int32_t*, const T*, T*);                            \
  template void launch_dense_crf_slice<T>(Stream, int64_t, const kernels::DenseCrfLatticeArgs&,    \
                                          const int32_t*, const T*, const T*, const T*, T*);       \
  template void launch_dense_crf_gauss<T>(Stream, int64_t, const kernels::DenseCrfFeatureArgs&,    \
                                          const double*, T*);                                      \
  template void launch_dense_crf_scale<T>(Stream, int64_t, const kernels::DenseCrfFeatureArgs&,    \
                                          const T*, const T*, T*);                                 \
  template void launch_dense_crf_inverse<T>(Stream, int64_t, T*);
CREMA_INSTANTIATE_DENSE_CRF(float)
CREMA_INSTANTIATE_DENSE_CRF(double)

}  // namespace crema::cuda
