#include "cuda_kernels/class_label.h"
#include "cuda_kernels/launch.cuh"

namespace crema::cuda {

template <class T>
void launch_label_block_sum(Stream s, int64_t num_blocks, int64_t n, int64_t block, const T* value,
                            const T* state, kernels::LabelBlock* blocks) {
  launch(s, num_blocks, "label_block_sum", [=] __device__(int64_t b) {
    kernels::label_block_sum(b, n, block, value, state, blocks);
  });
}

#define CREMA_INSTANTIATE_CLASS_LABEL(T)                                                         \
  template void launch_label_block_sum<T>(Stream, int64_t, int64_t, int64_t, const T*, const T*, \
                                          kernels::LabelBlock*);
CREMA_INSTANTIATE_CLASS_LABEL(float)
CREMA_INSTANTIATE_CLASS_LABEL(double)

}  // namespace crema::cuda
