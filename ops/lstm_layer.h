/// LstmLayer<T>: Caffe's LSTM layer (recurrent_param), run directly over time with exact BPTT.
#pragma once

#include <string>
#include <vector>

#include "core/layer.h"

namespace crema {

/// Bottoms: x (T x N x ..., flattened to T x N x I), cont (T x N), optional x_static (N x ...),
/// and with expose_hidden h_0 and c_0 (1 x N x H). Tops: h (T x N x H), and with expose_hidden
/// h_T and c_T (1 x N x H). Parameters in Caffe's order: W_xc (4H x I), b_c (4H),
/// [W_xc_static (4H x I_static)], W_hc (4H x H); gates i, f, o, g (Caffe's LSTMUnit).
///
/// See Note [LSTM state across forward calls] in the .cpp: without expose_hidden, each forward
/// starts from the final state of the previous forward, gated by cont at t = 0, as Caffe does.
template <class T>
class LstmLayer : public Layer<T> {
 public:
  explicit LstmLayer(const LayerParameter& param) : Layer<T>(param) {}

  const char* type() const override { return "LSTM"; }
  int min_num_bottom() const override { return expose_hidden() ? 4 : 2; }
  int max_num_bottom() const override { return expose_hidden() ? 5 : 3; }
  int exact_num_top() const override { return expose_hidden() ? 3 : 1; }
  /// The sequence indicators take no gradient.
  bool allow_force_backward(int bottom_index) const override { return bottom_index != 1; }

  /// The carried hidden and cell state (Caffe keeps it in its unrolled net), so a resumed run
  /// continues exactly.
  std::string save_state() const override;
  void load_state(const std::string& state) override;

  void layer_setup(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) override;
  void reshape(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) override;
  bool has_gpu_path() const override { return CREMA_WITH_CUDA != 0; }

 protected:
  void forward_cpu(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) override;
  void backward_cpu(Context& ctx, const TensorVec<T>& top, const std::vector<bool>& propagate_down,
                    const TensorVec<T>& bottom) override;
#if CREMA_WITH_CUDA
  // cuBLAS GEMMs and the launchers of the step bodies; the time loop stays on the host.
  void forward_gpu(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) override;
  void backward_gpu(Context& ctx, const TensorVec<T>& top, const std::vector<bool>& propagate_down,
                    const TensorVec<T>& bottom) override;
#endif

 private:
  // The passes on ctx's device, shared by both paths (see Note [LSTM on both devices]).
  void run_forward(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top);
  void run_backward(Context& ctx, const TensorVec<T>& top, const std::vector<bool>& propagate_down,
                    const TensorVec<T>& bottom);
  bool expose_hidden() const { return this->layer_param().recurrent_param().expose_hidden(); }
  // Index of W_hc among the parameters.
  int whc_index() const { return static_input_ ? 3 : 2; }
  // Bottom index of h_0 (c_0 follows).
  int h0_index() const { return static_input_ ? 3 : 2; }

  int64_t t_ = 0;         // time steps
  int64_t n_ = 0;         // independent streams
  int64_t i_ = 0;         // inputs per step
  int64_t i_static_ = 0;  // static inputs per stream
  int64_t h_ = 0;         // num_output
  bool static_input_ = false;

  Tensor<T> gates_;              // T x N x 4H: pre-activations, then activations
  Tensor<T> cell_;               // T x N x H: c_t
  Tensor<T> hidden_;             // T x N x H: h_t (a consumer may overwrite the top in place)
  Tensor<T> h_conted_;           // T x N x H: cont_t h_{t-1}, the input of the W_hc product
  Tensor<T> gates_static_;       // N x 4H: W_xc_static x_static
  Tensor<T> c_init_;             // N x H: c_0 used by the last forward (without expose_hidden)
  Tensor<T> state_h_, state_c_;  // N x H: carried final state (without expose_hidden)
  Tensor<T> bias_multiplier_;    // ones(T N)
  Tensor<T> dgates_;             // T x N x 4H: pre-activation gradients
  Tensor<T> dh_next_;            // N x H: gradient of h_t through step t+1
  Tensor<T> dc_;                 // N x H: running cell gradient
  Tensor<T> dgates_static_;      // N x 4H: sum over t of dgates
};

}  // namespace crema
