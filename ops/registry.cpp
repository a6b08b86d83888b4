// The one explicit table of layer types. Add a line per layer, kept in alphabetical order.
#include "ops/registry.h"

#include <algorithm>
#include <cctype>
#include <map>

// LAYER HEADERS (alphabetical)
#include "ops/accuracy_layer.h"
#include "ops/concat_layer.h"
#include "ops/conv_layer.h"
#include "ops/data_layer.h"
#include "ops/dropout_layer.h"
#include "ops/eltwise_layer.h"
#include "ops/euclidean_loss_layer.h"
#include "ops/flatten_layer.h"
#include "ops/inner_product_layer.h"
#include "ops/input_layer.h"
#include "ops/pad_layer.h"
#include "ops/pooling_layer.h"
#include "ops/relu_layer.h"
#include "ops/reshape_layer.h"
#include "ops/sigmoid_layer.h"
#include "ops/softmax_layer.h"
#include "ops/softmax_loss_layer.h"
#include "ops/split_layer.h"
#include "ops/tanh_layer.h"

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
      {"Accuracy", make<T, AccuracyLayer>},
      {"Concat", make<T, ConcatLayer>},
      {"Convolution", make<T, ConvolutionLayer>},
      {"Data", make<T, DataLayer>},
      {"Dropout", make<T, DropoutLayer>},
      {"Eltwise", make<T, EltwiseLayer>},
      {"EuclideanLoss", make<T, EuclideanLossLayer>},
      {"Flatten", make<T, FlattenLayer>},
      {"InnerProduct", make<T, InnerProductLayer>},
      {"Input", make<T, InputLayer>},
      {"Pad", make<T, PadLayer>},
      {"Pooling", make<T, PoolingLayer>},
      {"ReLU", make<T, ReLULayer>},
      {"Reshape", make<T, ReshapeLayer>},
      {"Sigmoid", make<T, SigmoidLayer>},
      {"Softmax", make<T, SoftmaxLayer>},
      {"SoftmaxWithLoss", make<T, SoftmaxWithLossLayer>},
      {"Split", make<T, SplitLayer>},
      {"TanH", make<T, TanHLayer>},
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
