/// The table of layer types: create a layer from its LayerParameter by `type`.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/layer.h"

namespace crema {

/// Creates the layer named by param.type(); an unknown type is a ConfigError that names the
/// nearest known type.
template <class T>
std::unique_ptr<Layer<T>> create_layer(const LayerParameter& param);

/// All registered type names, sorted.
std::vector<std::string> layer_types();

/// Case-insensitive Levenshtein distance (for "did you mean" suggestions).
size_t edit_distance(const std::string& a, const std::string& b);

/// The registered type closest to `name` by edit distance (case-insensitive).
std::string nearest_layer_type(const std::string& name);

}  // namespace crema
