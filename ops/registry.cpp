// The one explicit table of layer types. Add a line per layer, kept in alphabetical order.
#include "ops/registry.h"

#include <algorithm>
#include <cctype>
#include <map>

// LAYER HEADERS (alphabetical)
#include "ops/absval_layer.h"
#include "ops/accuracy_layer.h"
#include "ops/argmax_layer.h"
#include "ops/backward_warp_layer.h"
#include "ops/batch_norm_layer.h"
#include "ops/bias_layer.h"
#include "ops/bn_layer.h"
#include "ops/bnll_layer.h"
#include "ops/concat_layer.h"
#include "ops/contrastive_loss_layer.h"
#include "ops/conv_layer.h"
#include "ops/crop_layer.h"
#include "ops/data_layer.h"
#include "ops/deconv_layer.h"
#include "ops/def_pooling_layer.h"
#include "ops/deform_conv_layer.h"
#include "ops/deform_psroi_pooling_layer.h"
#include "ops/dense_crf_layer.h"
#include "ops/dropout_layer.h"
#include "ops/eltwise_layer.h"
#include "ops/elu_layer.h"
#include "ops/embed_layer.h"
#include "ops/euclidean_loss_layer.h"
#include "ops/exp_layer.h"
#include "ops/flatten_layer.h"
#include "ops/gated_message_passing_layer.h"
#include "ops/hinge_loss_layer.h"
#include "ops/infogain_loss_layer.h"
#include "ops/inner_product_layer.h"
#include "ops/input_layer.h"
#include "ops/interp_layer.h"
#include "ops/l1_loss_layer.h"
#include "ops/locally_connected_layer.h"
#include "ops/log_layer.h"
#include "ops/lrn_layer.h"
#include "ops/lstm_layer.h"
#include "ops/multinomial_logistic_loss_layer.h"
#include "ops/mvn_layer.h"
#include "ops/pad_layer.h"
#include "ops/pixel_shuffle_layer.h"
#include "ops/pooling_layer.h"
#include "ops/power_layer.h"
#include "ops/prelu_layer.h"
#include "ops/reduction_layer.h"
#include "ops/relu_layer.h"
#include "ops/reshape_layer.h"
#include "ops/roi_align_layer.h"
#include "ops/roi_mask_pooling_layer.h"
#include "ops/roi_pooling_layer.h"
#include "ops/scale_layer.h"
#include "ops/sigmoid_cross_entropy_loss_layer.h"
#include "ops/sigmoid_layer.h"
#include "ops/silence_layer.h"
#include "ops/slice_layer.h"
#include "ops/smooth_l1_loss_layer.h"
#include "ops/softmax_layer.h"
#include "ops/softmax_loss_layer.h"
#include "ops/split_layer.h"
#include "ops/spmc_layer.h"
#include "ops/tanh_layer.h"
#include "ops/threshold_layer.h"
#include "ops/tile_layer.h"
#include "ops/upsample_layer.h"

namespace crema {
namespace {

template <class T>
using Factory = std::unique_ptr<Layer<T>> (*)(const LayerParameter&);

template <class T, template <class> class L>
std::unique_ptr<Layer<T>> make(const LayerParameter& p) {
  return std::make_unique<L<T>>(p);
}

template <class T>
const std::map<std::string, Factory<T>>& table() {
  static const std::map<std::string, Factory<T>> t = {
      // LAYER TABLE (alphabetical): {"Type", make<T, TypeLayer>},
      {"AbsVal", make<T, AbsValLayer>},
      {"Accuracy", make<T, AccuracyLayer>},
      {"ArgMax", make<T, ArgMaxLayer>},
      {"BN", make<T, BNLayer>},
      {"BNLL", make<T, BNLLLayer>},
      {"BackwardWarp", make<T, BackwardWarpLayer>},
      {"BatchNorm", make<T, BatchNormLayer>},
      {"Bias", make<T, BiasLayer>},
      {"Concat", make<T, ConcatLayer>},
      {"ContrastiveLoss", make<T, ContrastiveLossLayer>},
      {"Convolution", make<T, ConvolutionLayer>},
      {"Crop", make<T, CropLayer>},
      {"Data", make<T, DataLayer>},
      {"Deconvolution", make<T, DeconvolutionLayer>},
      {"DefPooling", make<T, DefPoolingLayer>},
      {"DeformRoIPooling", make<T, DeformRoIPoolingLayer>},
      {"DeformableConvolution", make<T, DeformableConvolutionLayer>},
      {"DeformablePSROIPooling", make<T, DeformablePSROIPoolingLayer>},
      {"DenseCRF", make<T, DenseCRFLayer>},
      {"Dropout", make<T, DropoutLayer>},
      {"ELU", make<T, ELULayer>},
      {"Eltwise", make<T, EltwiseLayer>},
      {"Embed", make<T, EmbedLayer>},
      {"EuclideanLoss", make<T, EuclideanLossLayer>},
      {"Exp", make<T, ExpLayer>},
      {"Flatten", make<T, FlattenLayer>},
      {"GatedMessagePassing", make<T, GatedMessagePassingLayer>},
      {"HingeLoss", make<T, HingeLossLayer>},
      {"InfogainLoss", make<T, InfogainLossLayer>},
      {"InnerProduct", make<T, InnerProductLayer>},
      {"Input", make<T, InputLayer>},
      {"Interp", make<T, InterpLayer>},
      {"L1Loss", make<T, L1LossLayer>},
      {"LRN", make<T, LRNLayer>},
      {"LSTM", make<T, LstmLayer>},
      {"LocallyConnected", make<T, LocallyConnectedLayer>},
      {"Log", make<T, LogLayer>},
      {"MVN", make<T, MVNLayer>},
      {"MultinomialLogisticLoss", make<T, MultinomialLogisticLossLayer>},
      {"PReLU", make<T, PReLULayer>},
      {"Pad", make<T, PadLayer>},
      {"PixelShuffle", make<T, PixelShuffleLayer>},
      {"Pooling", make<T, PoolingLayer>},
      {"Power", make<T, PowerLayer>},
      {"ROIAlign", make<T, ROIAlignLayer>},
      {"ROIMaskPooling", make<T, ROIMaskPoolingLayer>},
      {"ROIPooling", make<T, ROIPoolingLayer>},
      {"ReLU", make<T, ReLULayer>},
      {"Reduction", make<T, ReductionLayer>},
      {"Reshape", make<T, ReshapeLayer>},
      {"SPMC", make<T, SPMCLayer>},
      {"Scale", make<T, ScaleLayer>},
      {"Sigmoid", make<T, SigmoidLayer>},
      {"SigmoidCrossEntropyLoss", make<T, SigmoidCrossEntropyLossLayer>},
      {"Silence", make<T, SilenceLayer>},
      {"Slice", make<T, SliceLayer>},
      {"SmoothL1Loss", make<T, SmoothL1LossLayer>},
      {"Softmax", make<T, SoftmaxLayer>},
      {"SoftmaxWithLoss", make<T, SoftmaxWithLossLayer>},
      {"Split", make<T, SplitLayer>},
      {"TanH", make<T, TanHLayer>},
      {"Threshold", make<T, ThresholdLayer>},
      {"Tile", make<T, TileLayer>},
      {"Upsample", make<T, UpsampleLayer>},
  };
  return t;
}

}  // namespace

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const bool same = std::tolower(static_cast<unsigned char>(a[i - 1])) ==
                        std::tolower(static_cast<unsigned char>(b[j - 1]));
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (same ? 0 : 1)});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::vector<std::string> layer_types() {
  std::vector<std::string> names;
  for (const auto& [name, f] : table<float>()) names.push_back(name);
  return names;
}

std::string nearest_layer_type(const std::string& name) {
  std::string best;
  size_t best_d = SIZE_MAX;
  for (const auto& known : layer_types()) {
    const size_t d = edit_distance(name, known);
    if (d < best_d) best_d = d, best = known;
  }
  return best;
}

template <class T>
std::unique_ptr<Layer<T>> create_layer(const LayerParameter& param) {
  const auto& t = table<T>();
  auto it = t.find(param.type());
  if (it == t.end()) {
    // Caffe types Crema deliberately leaves out, with what to use instead.
    static const std::map<std::string, std::string> unsupported = {
        {"HDF5Data", "store the data in an LMDB (`crema convert`) and use a Data layer"},
        {"HDF5Output", "dump blobs with `crema forward --dump`"},
        {"ImageData", "convert the image list with `crema convert --images --list` and use Data"},
        {"WindowData", "convert the windows into an LMDB and use Data"},
        {"MemoryData", "use an Input layer and set its blob from your program"},
        {"DummyData", "use an Input layer (tests fill it)"},
        {"Python", "Python layers are not available in Crema; write the layer in C++ (ops/)"},
        {"SPP", "use Pooling layers and Concat"},
    };
    if (auto u = unsupported.find(param.type()); u != unsupported.end())
      throw ConfigError(str_cat("layer type '", param.type(), "' is not supported by Crema; ",
                                u->second));
    std::string msg = str_cat("unknown layer type '", param.type(), "'");
    const std::string near = nearest_layer_type(param.type());
    if (!near.empty()) msg += str_cat("; did you mean '", near, "'?");
    msg += " Run `crema layers` for the list of known types.";
    throw ConfigError(msg);
  }
  return it->second(param);
}

template std::unique_ptr<Layer<float>> create_layer<float>(const LayerParameter&);
template std::unique_ptr<Layer<double>> create_layer<double>(const LayerParameter&);

}  // namespace crema
