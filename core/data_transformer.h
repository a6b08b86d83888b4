/// DataTransformer<T>: Caffe's TransformationParameter (crop, mirror, mean, scale) on Datums, with
/// counter-based randomness so a sample's crop and flip depend only on (seed, sample index).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "proto/crema.pb.h"

namespace crema {

/// The pixels of one Datum: its raw bytes or floats, or the decoded image of an encoded one.
/// Points into the Datum for raw payloads, so the Datum must outlive it.
struct DatumImage {
  DatumImage() = default;
  DatumImage(DatumImage&&) = default;
  DatumImage& operator=(DatumImage&&) = default;
  DatumImage(const DatumImage&) = delete;
  DatumImage& operator=(const DatumImage&) = delete;

  int64_t channels = 0, height = 0, width = 0;
  bool hwc = false;                ///< interleaved HWC (decoded images) instead of planar CHW
  const uint8_t* bytes = nullptr;  ///< uint8 pixels, or
  const float* floats = nullptr;   ///< float_data
  std::vector<uint8_t> decoded;    ///< storage of a decoded image (HWC, BGR for colour)
};

/// Crop offsets and flip of one sample.
struct TransformDraw {
  int64_t h_off = 0, w_off = 0;
  bool mirror = false;
};

template <class T>
class DataTransformer {
 public:
  /// Validates the parameters and loads mean_file. Random draws use rng::bits(seed, stream, .).
  DataTransformer(const TransformationParameter& param, Phase phase, uint64_t seed,
                  uint64_t stream);

  /// Pixels of a datum, decoding it when encoded (force_color / force_gray apply only then). A
  /// payload whose size is not channels*height*width, or an undecodable image, is a DataError.
  DatumImage image(const Datum& datum) const;
  /// Checks that a channels x height x width image fits (crop, mean) and returns the output
  /// shape {C, H', W'}.
  std::vector<int64_t> output_shape(int64_t channels, int64_t height, int64_t width) const;
  /// Crop and mirror of sample `sample` for a height x width image: random in TRAIN (crop and
  /// mirror), centred crop and no mirror in TEST.
  TransformDraw draw(uint64_t sample, int64_t height, int64_t width) const;
  /// Writes the transformed image (C*H'*W' values, CHW) of sample `sample` to out. The image's
  /// size must have passed output_shape.
  void transform(const DatumImage& image, uint64_t sample, T* out) const;

  const TransformationParameter& param() const { return param_; }

 private:
  TransformationParameter param_;
  Phase phase_;
  uint64_t seed_, stream_;
  std::vector<T> mean_;  // mean_file pixels (CHW) or mean_value per channel
  std::vector<int64_t> mean_shape_;
};

}  // namespace crema
