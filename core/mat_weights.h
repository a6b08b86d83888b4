/// MATLAB .mat files (read with libmatio) and the official SRCNN weights stored in them.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace crema {

template <class T>
class Net;

/// A real numeric MATLAB array: values as double in MATLAB's column-major order.
struct MatArray {
  std::string name;
  std::vector<int64_t> dims;  ///< MATLAB size(), at least 2 entries
  std::vector<double> data;   ///< prod(dims) values, first index fastest

  /// "81x64".
  std::string dims_string() const;
  /// Element (i, j, k), 0-based, column-major.
  double at(int64_t i, int64_t j, int64_t k = 0) const {
    return data[i + dims[0] * (j + dims[1] * k)];
  }
};

/// Reads every real numeric variable (double, single, integer classes) of a MATLAB .mat file
/// (v4, v5/v6, v7 compressed; v7.3 where libmatio has HDF5). Other variables (cells, structs,
/// strings, sparse) are skipped; complex ones are a DataError, as is a file libmatio cannot open.
std::map<std::string, MatArray> read_mat_file(const std::string& path);

/// Loads the official SRCNN MATLAB weights (Dong et al.; weights_conv1 k1^2 x n1,
/// biases_conv1 n1 x 1, weights_conv2 n1 x k2^2 x n2, biases_conv2, weights_conv3 n2 x k3^2,
/// biases_conv3) into the Convolution layers named conv1, conv2, conv3 of `net`, as Crema's
/// [out, in, kh, kw] weights and [out] biases. The MATLAB code applies them with imfilter
/// (correlation), which is what Caffe-style convolution computes, so no kernel flip; each k x k
/// kernel is stored column-major (MATLAB reshape), i.e. transposed against row-major kh x kw.
/// DataError naming the variable for missing variables and shapes that do not fit the net;
/// ConfigError when the net lacks a layer or its bias.
template <class T>
void load_srcnn_mat_weights(const std::string& path, Net<T>& net);

}  // namespace crema
