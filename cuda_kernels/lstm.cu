#include "cuda_kernels/launch.cuh"
#include "cuda_kernels/lstm.h"

namespace crema::cuda {

template <class T>
void launch_lstm_forward_step(Stream s, int64_t n, const kernels::LstmArgs& a,
                              const kernels::LstmForwardStep<T>& step) {
  launch(s, n, "lstm_forward_step",
         [=] __device__(int64_t i) { kernels::lstm_forward_step(i, a, step); });
}

template <class T>
void launch_lstm_backward_step(Stream s, int64_t n, const kernels::LstmArgs& a,
                               const kernels::LstmBackwardStep<T>& step) {
  launch(s, n, "lstm_backward_step",
         [=] __device__(int64_t i) { kernels::lstm_backward_step(i, a, step); });
}

template <class T>
void launch_lstm_cont_scale(Stream s, int64_t n, const kernels::LstmArgs& a, const T* cont,
                            const T* x, T* y) {
  launch(s, n, "lstm_cont_scale",
         [=] __device__(int64_t i) { kernels::lstm_cont_scale(i, a, cont, x, y); });
}

#define CREMA_INSTANTIATE_LSTM(T)                                                              \
  template void launch_lstm_forward_step<T>(Stream, int64_t, const kernels::LstmArgs&,         \
                                            const kernels::LstmForwardStep<T>&);               \
  template void launch_lstm_backward_step<T>(Stream, int64_t, const kernels::LstmArgs&,        \
                                             const kernels::LstmBackwardStep<T>&);             \
  template void launch_lstm_cont_scale<T>(Stream, int64_t, const kernels::LstmArgs&, const T*, \
                                          const T*, T*);
CREMA_INSTANTIATE_LSTM(float)
CREMA_INSTANTIATE_LSTM(double)

}  // namespace crema::cuda
