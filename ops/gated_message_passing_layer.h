/// GatedMessagePassingLayer<T>: GBD-Net's gated bi-directional message passing among K regions.
#pragma once

#include <memory>
#include <vector>

#include "core/layer.h"
#include "cuda_kernels/gated_message_passing.h"
#include "ops/concat_layer.h"
#include "ops/conv_layer.h"

namespace crema {

// Note [GBD message passing]
// Bottoms h0_1..h0_K are K context regions of the same RoIs (small to large context), each
// (N, C, H, W) of one shape; tops are the K updated regions, same shape. With M = num_output
// (default C), k x k convs with pad (k - 1) / 2, sigma = ReLU and s = sigmoid, the layer computes
// what craftGBD's deploy_GBD.prototxt wires from Convolution / ReLU / Sigmoid / Eltwise / Concat:
//   S (small -> large): h1_1 = sigma(Sself_1 h0_1),
//       h1_{i+1} = sigma(Sself_{i+1} h0_{i+1}) + s(Sgate_i h0_i) * sigma(Smsg_i h1_i)
//   B (large -> small): h2_K = sigma(Bself_K h0_K),
//       h2_{i-1} = sigma(Bself_{i-1} h0_{i-1}) + s(Bgate_i h0_i) * sigma(Bmsg_i h2_i)
//   fusion and residual mix (steps 4-5 of MODELS.md 2(b)), both inside the layer:
//       out_i = h0_i + residual_coeff * sigma(Fuse_i concat_channels(h1_i, h2_i)).
// The gate is computed from the sender's RAW feature h0, not from its message. A later
// Concat(axis 0) of the tops gives the batch-stacked blob of the released nets.
// Each conv is an internal ConvolutionLayer (weight then bias); their blobs are this layer's
// blobs, in this order (i is the region, 1-based), 7K - 4 convs, 14K - 8 blobs:
//   Sself_1..Sself_K   (C -> M)     Smsg_1..Smsg_{K-1}  (M -> M)   Sgate_1..Sgate_{K-1} (C -> M)
//   Bself_1..Bself_K   (C -> M)     Bmsg_2..Bmsg_K      (M -> M)   Bgate_2..Bgate_K     (C -> M)
//   Fuse_1..Fuse_K     (2M -> C)
// Weights are filled with weight_filler (xavier), gate biases with gate_bias_filler (constant
// 0.2), other biases with bias_filler (constant 0). The per-hop gated update and the residual
// mix are fused kernel bodies (cuda_kernels/gated_message_passing.h).

/// GBD-Net message passing (Zeng et al., ECCV'16); see Note [GBD message passing].
template <class T>
class GatedMessagePassingLayer : public Layer<T> {
 public:
  explicit GatedMessagePassingLayer(const LayerParameter& param) : Layer<T>(param) {}

  const char* type() const override { return "GatedMessagePassing"; }
  int min_num_bottom() const override { return 2; }
  bool equal_num_bottom_top() const override { return true; }

  void layer_setup(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) override;
  void reshape(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) override;
  bool has_gpu_path() const override { return CREMA_WITH_CUDA != 0; }

  /// Index of the weight blob (bias follows) of each conv, by 0-based region; message and gate
  /// convs by their sender (S: 0..K-2, B: 1..K-1).
  int sself(int i) const { return 2 * i; }
  int smsg(int i) const { return 2 * (k_ + i); }
  int sgate(int i) const { return 2 * (2 * k_ - 1 + i); }
  int bself(int i) const { return 2 * (3 * k_ - 2 + i); }
  int bmsg(int i) const { return 2 * (4 * k_ - 2 + i - 1); }
  int bgate(int i) const { return 2 * (5 * k_ - 3 + i - 1); }
  int fuse(int i) const { return 2 * (6 * k_ - 4 + i); }

 protected:
  void forward_cpu(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) override;
  void backward_cpu(Context& ctx, const TensorVec<T>& top, const std::vector<bool>& propagate_down,
                    const TensorVec<T>& bottom) override;
#if CREMA_WITH_CUDA
  // The internal convs through cuDNN, the launchers of the same bodies, cuBLAS axpy.
  void forward_gpu(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) override;
  void backward_gpu(Context& ctx, const TensorVec<T>& top, const std::vector<bool>& propagate_down,
                    const TensorVec<T>& bottom) override;
#endif

 private:
  using Conv = ConvolutionLayer<T>;
  void check_bottoms(const TensorVec<T>& bottom, const TensorVec<T>& top) const;
  /// Points every internal conv at this layer's current blobs (a net may swap them to share).
  void bind_params();
  /// The passes on ctx's device, shared by both paths (see Note [GBD message passing on both
  /// devices] in the .cpp).
  void run_forward(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top);
  void run_backward(Context& ctx, const TensorVec<T>& top, const std::vector<bool>& propagate_down,
                    const TensorVec<T>& bottom);
  /// Runs conv->backward for input `in` (data only) and adds its input gradient into `acc`, on
  /// ctx's device.
  void conv_backward_add(Context& ctx, Conv& conv, const Tensor<T>& in, Tensor<T>& out,
                         Tensor<T>& proxy, T* acc);

  int k_ = 0;
  int64_t channels_ = 0, num_output_ = 0;
  kernels::GatedMessagePassingArgs<T> args_{};
  // Internal convs indexed by region (0-based); msg/gate entries unused where no hop exists.
  std::vector<std::unique_ptr<Conv>> sself_, smsg_, sgate_, bself_, bmsg_, bgate_, fuse_;
  std::unique_ptr<ConcatLayer<T>> concat_;
  // Pre-activations of the self / gate / message convs, states h1 / h2, concat and fusion conv
  // outputs, per region (0-based; the message/gate tensors are indexed by the sender).
  std::vector<Tensor<T>> sa_, sg_, sm_, ba_, bg_, bm_, h1_, h2_, cat_, f_;
  std::vector<Tensor<T>> dx_;    // gradient accumulators of the bottoms
  Tensor<T> x_proxy_, h_proxy_;  // share an input's data, own a scratch diff for conv backward
};

}  // namespace crema
