#include "core/data_transformer.h"

#include <cstring>

// OpenCV's headers trip a C++20 deprecation warning that is not ours to fix.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-enum-enum-conversion"
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#pragma GCC diagnostic pop

#include "core/error.h"
#include "core/io.h"
#include "core/rng.h"
#include "core/tensor.h"
#include "cuda_kernels/data_transform.h"

namespace crema {

template <class T>
DataTransformer<T>::DataTransformer(const TransformationParameter& param, Phase phase,
                                    uint64_t seed, uint64_t stream)
    : param_(param), phase_(phase), seed_(seed), stream_(stream) {
  CREMA_CHECK_AS(ConfigError, !(param.has_mean_file() && param.mean_value_size() > 0),
                 "transform_param: give mean_file or mean_value, not both");
  CREMA_CHECK_AS(ConfigError, !(param.force_color() && param.force_gray()),
                 "transform_param: force_color and force_gray cannot both be true");
  if (param.has_mean_file()) {
    BlobProto proto;
    read_binary_proto(param.mean_file(), &proto);
    Tensor<T> mean;
    mean.from_proto(proto);
    mean_shape_ = mean.shape();
    mean_.assign(mean.cpu_data(), mean.cpu_data() + mean.count());
  } else {
    for (int i = 0; i < param.mean_value_size(); ++i) mean_.push_back(param.mean_value(i));
  }
}

template <class T>
DatumImage DataTransformer<T>::image(const Datum& datum) const {
  DatumImage img;
  if (datum.encoded()) {
    const std::string& bytes = datum.data();
    int flags = cv::IMREAD_ANYCOLOR;
    if (param_.force_color()) flags = cv::IMREAD_COLOR;
    if (param_.force_gray()) flags = cv::IMREAD_GRAYSCALE;
    cv::Mat decoded;
    if (!bytes.empty()) {
      const cv::Mat buf(1, static_cast<int>(bytes.size()), CV_8UC1,
                        const_cast<char*>(bytes.data()));
      decoded = cv::imdecode(buf, flags);
    }
    if (decoded.empty() || decoded.depth() != CV_8U)
      throw DataError(
          str_cat("cannot decode the encoded image (", bytes.size(), " bytes) as an 8-bit image"));
    img.channels = decoded.channels();
    img.height = decoded.rows;
    img.width = decoded.cols;
    img.hwc = true;
    const size_t row = static_cast<size_t>(img.width * img.channels);
    img.decoded.resize(row * img.height);
    for (int r = 0; r < decoded.rows; ++r)
      std::memcpy(img.decoded.data() + r * row, decoded.ptr<uint8_t>(r), row);
    img.bytes = img.decoded.data();
    return img;
  }
  img.channels = datum.channels();
  img.height = datum.height();
  img.width = datum.width();
  CREMA_CHECK_AS(DataError, img.channels > 0 && img.height > 0 && img.width > 0, "Datum has shape ",
                 img.channels, "x", img.height, "x", img.width,
                 "; channels, height and width must be > 0");
  const int64_t n = img.channels * img.height * img.width;
  if (!datum.data().empty()) {
    CREMA_CHECK_AS(DataError, static_cast<int64_t>(datum.data().size()) == n, "Datum data has ",
                   datum.data().size(), " bytes, expected channels*height*width = ", n);
    img.bytes = reinterpret_cast<const uint8_t*>(datum.data().data());
  } else {
    CREMA_CHECK_AS(DataError, datum.float_data_size() == n, "Datum float_data has ",
                   datum.float_data_size(), " values, expected channels*height*width = ", n);
    img.floats = datum.float_data().data();
  }
  return img;
}

template <class T>
std::vector<int64_t> DataTransformer<T>::output_shape(int64_t channels, int64_t height,
                                                      int64_t width) const {
  const int64_t crop = param_.crop_size();
  CREMA_CHECK_AS(ConfigError, crop <= height && crop <= width, "transform_param: crop_size ", crop,
                 " is larger than the ", height, "x", width,
                 " images; use crop_size <= ", std::min(height, width));
  if (param_.has_mean_file()) {
    const int64_t count = static_cast<int64_t>(mean_.size());
    const size_t k = mean_shape_.size();
    const bool fits = count == channels * height * width && k >= 3 &&
                      mean_shape_[k - 3] == channels && mean_shape_[k - 2] == height &&
                      mean_shape_[k - 1] == width;
    CREMA_CHECK_AS(ConfigError, fits, "transform_param: mean_file ", param_.mean_file(),
                   " has shape ", shape_string(mean_shape_), " but the images are ", channels, "x",
                   height, "x", width, " (the mean must have the uncropped image size)");
  } else if (!mean_.empty()) {
    CREMA_CHECK_AS(ConfigError, mean_.size() == 1 || static_cast<int64_t>(mean_.size()) == channels,
                   "transform_param: ", mean_.size(), " mean_value entries for ", channels,
                   "-channel images; give 1 or ", channels);
  }
  return {channels, crop > 0 ? crop : height, crop > 0 ? crop : width};
}

template <class T>
TransformDraw DataTransformer<T>::draw(uint64_t sample, int64_t height, int64_t width) const {
  TransformDraw d;
  const int64_t crop = param_.crop_size();
  const bool train = phase_ == TRAIN;
  if (crop > 0) {
    if (train) {
      d.h_off = static_cast<int64_t>(rng::bits(seed_, stream_, 3 * sample) %
                                     static_cast<uint64_t>(height - crop + 1));
      d.w_off = static_cast<int64_t>(rng::bits(seed_, stream_, 3 * sample + 1) %
                                     static_cast<uint64_t>(width - crop + 1));
    } else {
      d.h_off = (height - crop) / 2;
      d.w_off = (width - crop) / 2;
    }
  }
  d.mirror = train && param_.mirror() && (rng::bits(seed_, stream_, 3 * sample + 2) & 1);
  return d;
}

template <class T>
void DataTransformer<T>::transform(const DatumImage& img, uint64_t sample, T* out) const {
  const TransformDraw d = draw(sample, img.height, img.width);
  const int64_t crop = param_.crop_size();
  kernels::DataTransformArgs a;
  a.channels = img.channels;
  a.in_h = img.height;
  a.in_w = img.width;
  a.out_h = crop > 0 ? crop : img.height;
  a.out_w = crop > 0 ? crop : img.width;
  a.h_off = d.h_off;
  a.w_off = d.w_off;
  a.mirror = d.mirror ? 1 : 0;
  a.source_hwc = img.hwc ? 1 : 0;
  a.scale = param_.scale();
  const T* mean = mean_.data();
  std::vector<T> per_channel;
  if (param_.has_mean_file()) {
    a.mean_mode = kernels::kMeanPerPixel;
  } else if (!mean_.empty()) {
    a.mean_mode = kernels::kMeanPerChannel;
    if (mean_.size() == 1 && img.channels > 1) {
      per_channel.assign(img.channels, mean_[0]);
      mean = per_channel.data();
    }
  }
  // One image is small; the data layer parallelises over the images of a batch instead.
  const int64_t n = a.channels * a.out_h * a.out_w;
  if (img.floats) {
    for (int64_t i = 0; i < n; ++i) kernels::data_transform_forward(i, a, img.floats, mean, out);
  } else {
    for (int64_t i = 0; i < n; ++i) kernels::data_transform_forward(i, a, img.bytes, mean, out);
  }
}

template class DataTransformer<float>;
template class DataTransformer<double>;

}  // namespace crema
