#include "core/mat_weights.h"

#include <matio.h>

#include <cmath>
#include <memory>

#include "core/error.h"
#include "core/io.h"
#include "core/net.h"

namespace crema {
namespace {

template <class S>
void widen(const void* p, size_t n, std::vector<double>* out) {
  const S* s = static_cast<const S*>(p);
  out->assign(s, s + n);
}

// Converts one matio variable; false for kinds that are not numeric arrays.
bool to_array(const matvar_t& v, const std::string& path, MatArray* out) {
  if (v.isComplex)
    throw DataError(
        str_cat(path, ": variable '", v.name ? v.name : "?", "' is complex; weights must be real"));
  size_t n = 1;
  out->dims.clear();
  for (int i = 0; i < v.rank; ++i) {
    out->dims.push_back(static_cast<int64_t>(v.dims[i]));
    n *= v.dims[i];
  }
  while (out->dims.size() < 2) out->dims.push_back(1);
  out->name = v.name ? v.name : "";
  if (n > 0 && v.data == nullptr) return false;
  switch (v.class_type) {
    case MAT_C_DOUBLE:
      widen<double>(v.data, n, &out->data);
      break;
    case MAT_C_SINGLE:
      widen<float>(v.data, n, &out->data);
      break;
    case MAT_C_INT8:
      widen<int8_t>(v.data, n, &out->data);
      break;
    case MAT_C_UINT8:
      widen<uint8_t>(v.data, n, &out->data);
      break;
    case MAT_C_INT16:
      widen<int16_t>(v.data, n, &out->data);
      break;
    case MAT_C_UINT16:
      widen<uint16_t>(v.data, n, &out->data);
      break;
    case MAT_C_INT32:
      widen<int32_t>(v.data, n, &out->data);
      break;
    case MAT_C_UINT32:
      widen<uint32_t>(v.data, n, &out->data);
      break;
    case MAT_C_INT64:
      widen<int64_t>(v.data, n, &out->data);
      break;
    case MAT_C_UINT64:
      widen<uint64_t>(v.data, n, &out->data);
      break;
    default:
      return false;
  }
  return true;
}

// Drops trailing singleton dimensions (MATLAB arrays are at least 2-d: 64x1 is a vector of 64).
std::vector<int64_t> squeeze_trailing(std::vector<int64_t> d) {
  while (!d.empty() && d.back() == 1) d.pop_back();
  return d;
}

std::string dims_text(const std::vector<int64_t>& d) {
  std::string s;
  for (size_t i = 0; i < d.size(); ++i) {
    if (i > 0) s += 'x';
    s += std::to_string(d[i]);
  }
  return s.empty() ? "1x1" : s;
}

std::string list_vars(const std::map<std::string, MatArray>& vars) {
  std::string s;
  for (const auto& [name, a] : vars)
    s += (s.empty() ? "" : ", ") + name + " (" + a.dims_string() + ")";
  return s.empty() ? "no numeric variables" : s;
}

}  // namespace

std::string MatArray::dims_string() const { return dims_text(dims); }

std::map<std::string, MatArray> read_mat_file(const std::string& path) {
  CREMA_CHECK_AS(DataError, file_exists(path), "MATLAB file ", path, " does not exist");
  std::unique_ptr<mat_t, int (*)(mat_t*)> mat(Mat_Open(path.c_str(), MAT_ACC_RDONLY), Mat_Close);
  CREMA_CHECK_AS(DataError, mat != nullptr, "cannot open ", path,
                 " as a MATLAB .mat file (libmatio reads v4, v5/v6 and v7; is it a .mat file?)");
  std::map<std::string, MatArray> vars;
  while (matvar_t* v = Mat_VarReadNext(mat.get())) {
    std::unique_ptr<matvar_t, void (*)(matvar_t*)> guard(v, Mat_VarFree);
    MatArray a;
    if (to_array(*v, path, &a)) vars[a.name] = std::move(a);
  }
  return vars;
}

template <class T>
void load_srcnn_mat_weights(const std::string& path, Net<T>& net) {
  const std::map<std::string, MatArray> vars = read_mat_file(path);
  auto get = [&](const std::string& name, const std::vector<int64_t>& want) -> const MatArray& {
    auto it = vars.find(name);
    CREMA_CHECK_AS(DataError, it != vars.end(), path, ": variable '", name,
                   "' is missing; an SRCNN weights file holds weights_conv1..3 and "
                   "biases_conv1..3 (this file has ",
                   list_vars(vars), ")");
    CREMA_CHECK_AS(DataError, squeeze_trailing(it->second.dims) == squeeze_trailing(want), path,
                   ": variable '", name, "' is ", it->second.dims_string(), ", but the net needs ",
                   dims_text(want),
                   " (check that the prototxt's kernel sizes and num_output match "
                   "the weights, e.g. 9-1-5 vs 9-5-5)");
    return it->second;
  };
  auto conv = [&](const std::string& layer) {
    const int l = net.layer_index(layer);
    CREMA_CHECK_AS(ConfigError, l >= 0, "net '", net.name(), "' has no layer '", layer,
                   "'; SRCNN weights go into Convolution layers conv1, conv2, conv3");
    auto& blobs = net.layers()[l]->blobs();
    CREMA_CHECK_AS(
        ConfigError,
        blobs.size() == 2 && blobs[0]->num_axes() == 4 && blobs[1]->count() == blobs[0]->shape(0),
        "layer '", layer, "' must be a Convolution with a bias (2 parameter blobs: ",
        "weights out x in x kh x kw and bias out), got ", blobs.size(), " blobs");
    CREMA_CHECK_AS(ConfigError, blobs[0]->shape(2) == blobs[0]->shape(3), "layer '", layer,
                   "' has a ", blobs[0]->shape(2), "x", blobs[0]->shape(3),
                   " kernel; SRCNN kernels are square");
    return std::pair{blobs[0].get(), blobs[1].get()};
  };
  const auto [w1, b1] = conv("conv1");
  const auto [w2, b2] = conv("conv2");
  const auto [w3, b3] = conv("conv3");
  const int64_t n1 = w1->shape(0), k1 = w1->shape(2);
  const int64_t n2 = w2->shape(0), k2 = w2->shape(2);
  const int64_t k3 = w3->shape(2);
  CREMA_CHECK_AS(ConfigError,
                 w1->shape(1) == 1 && w2->shape(1) == n1 && w3->shape(0) == 1 && w3->shape(1) == n2,
                 "conv1..conv3 must map 1 -> n1 -> n2 -> 1 channels for SRCNN weights, got ",
                 w1->shape_string(), ", ", w2->shape_string(), ", ", w3->shape_string());
  const MatArray& mw1 = get("weights_conv1", {k1 * k1, n1});
  const MatArray& mb1 = get("biases_conv1", {n1, 1});
  const MatArray& mw2 = get("weights_conv2", {n1, k2 * k2, n2});
  const MatArray& mb2 = get("biases_conv2", {n2, 1});
  const MatArray& mw3 = get("weights_conv3", {n2, k3 * k3});
  const MatArray& mb3 = get("biases_conv3", {1, 1});
  // MATLAB reshape(v, k, k) puts v(m) at row m % k, column m / k: (r, c) <- m = r + c * k.
  T* p = w1->mutable_cpu_data();
  for (int64_t o = 0; o < n1; ++o)
    for (int64_t r = 0; r < k1; ++r)
      for (int64_t c = 0; c < k1; ++c)
        p[(o * k1 + r) * k1 + c] = static_cast<T>(mw1.at(r + c * k1, o));
  p = w2->mutable_cpu_data();
  for (int64_t o = 0; o < n2; ++o)
    for (int64_t i = 0; i < n1; ++i)
      for (int64_t r = 0; r < k2; ++r)
        for (int64_t c = 0; c < k2; ++c)
          p[((o * n1 + i) * k2 + r) * k2 + c] = static_cast<T>(mw2.at(i, r + c * k2, o));
  p = w3->mutable_cpu_data();
  for (int64_t i = 0; i < n2; ++i)
    for (int64_t r = 0; r < k3; ++r)
      for (int64_t c = 0; c < k3; ++c)
        p[(i * k3 + r) * k3 + c] = static_cast<T>(mw3.at(i, r + c * k3));
  for (int64_t o = 0; o < n1; ++o) b1->mutable_cpu_data()[o] = static_cast<T>(mb1.data[o]);
  for (int64_t o = 0; o < n2; ++o) b2->mutable_cpu_data()[o] = static_cast<T>(mb2.data[o]);
  b3->mutable_cpu_data()[0] = static_cast<T>(mb3.data[0]);
}

template void load_srcnn_mat_weights<float>(const std::string&, Net<float>&);
template void load_srcnn_mat_weights<double>(const std::string&, Net<double>&);

}  // namespace crema
