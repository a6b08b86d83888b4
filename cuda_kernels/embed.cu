#include "cuda_kernels/embed.h"
#include "cuda_kernels/launch.cuh"

namespace crema::cuda {

template <class T>
void launch_embed_forward(Stream s, int64_t n, const kernels::EmbedArgs& a, const T* index,
                          const T* w, const T* b, T* y) {
  launch(s, n, "embed_forward",
         [=] __device__(int64_t i) { kernels::embed_forward(i, a, index, w, b, y); });
}

template <class T>
void launch_embed_backward_weight(Stream s, int64_t n, const kernels::EmbedArgs& a, const T* index,
                                  const T* dy, T* dw) {
  launch(s, n, "embed_backward_weight",
         [=] __device__(int64_t d) { kernels::embed_backward_weight(d, a, index, dy, dw); });
}

template <class T>
void launch_embed_backward_bias(Stream s, int64_t n, const kernels::EmbedArgs& a, const T* dy,
                                T* db) {
  launch(s, n, "embed_backward_bias",
         [=] __device__(int64_t d) { kernels::embed_backward_bias(d, a, dy, db); });
}

#define CREMA_INSTANTIATE_EMBED(T)                                                            \
  template void launch_embed_forward<T>(Stream, int64_t, const kernels::EmbedArgs&, const T*, \
                                        const T*, const T*, T*);                              \
  template void launch_embed_backward_weight<T>(Stream, int64_t, const kernels::EmbedArgs&,   \
                                                const T*, const T*, T*);                      \
  template void launch_embed_backward_bias<T>(Stream, int64_t, const kernels::EmbedArgs&,     \
                                              const T*, T*);
CREMA_INSTANTIATE_EMBED(float)
CREMA_INSTANTIATE_EMBED(double)

}  // namespace crema::cuda
