/// The standard single-image super-resolution test protocol of the official SRCNN MATLAB code:
/// Y of rgb2ycbcr, modcrop, MATLAB bicubic imresize down and up, shave, PSNR / SSIM on 8 bits.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace crema {

template <class T>
class Net;

namespace sr {

/// A single-channel image, row-major (H rows of W pixels).
template <class T>
struct Plane {
  int64_t height = 0, width = 0;
  std::vector<T> data;

  Plane() = default;
  Plane(int64_t h, int64_t w, T fill = T(0)) : height(h), width(w), data(h * w, fill) {}
  T& operator()(int64_t r, int64_t c) { return data[r * width + c]; }
  const T& operator()(int64_t r, int64_t c) const { return data[r * width + c]; }
};
using PlaneU8 = Plane<uint8_t>;
using PlaneF = Plane<float>;

/// MATLAB rgb2ycbcr's luma for uint8 RGB: round(16 + (65.481 R + 128.553 G + 24.966 B) / 255),
/// rounding half away from zero. `bgr` is interleaved B, G, R (OpenCV's order), `stride` bytes
/// per pixel (3, or 4 with alpha).
PlaneU8 luma_from_bgr(const uint8_t* bgr, int64_t height, int64_t width, int stride = 3);

/// Reads an image with OpenCV and returns what the SRCNN code works on: the Y channel of a
/// colour image, a grey image as it is (MATLAB: `if size(im,3) > 1, im = rgb2ycbcr(im)`).
/// DataError for unreadable files and non-8-bit images.
PlaneU8 read_luma(const std::string& path);

/// MATLAB modcrop: keeps the top-left rows and columns that are a multiple of `scale`.
PlaneU8 modcrop(const PlaneU8& image, int scale);

/// MATLAB im(1+b:end-b, 1+b:end-b).
template <class T>
Plane<T> shave(const Plane<T>& image, int border);

/// single(x) / 255, as MATLAB computes it.
PlaneF to_unit(const PlaneU8& image);
/// MATLAB uint8(x * 255): the product in single precision, rounded half away from zero,
/// saturated to [0, 255] (NaN to 0).
PlaneU8 to_uint8(const PlaneF& image);

/// One output pixel's taps along one dimension: out[i] = sum_k weight[i][k] * in[index[i][k]].
struct ResizeContributions {
  int64_t taps = 0;              ///< taps per output pixel (columns that are zero for every
                                 ///< output are dropped, as MATLAB does)
  std::vector<double> weights;   ///< out_length x taps, rows sum to 1
  std::vector<int64_t> indices;  ///< out_length x taps, 0-based, mirrored into [0, in_length)
};

/// MATLAB imresize's contributions() for the bicubic kernel (a = -0.5, width 4): output pixel
/// x (1-based) maps to u = x / scale + (1 - 1 / scale) / 2; when scale < 1 and `antialias` the
/// kernel is stretched by 1 / scale (and scaled by scale); out-of-range taps mirror
/// symmetrically (1..n, n..1 repeated); each row of weights is normalised to sum 1.
ResizeContributions bicubic_contributions(int64_t in_length, int64_t out_length, double scale,
                                          bool antialias = true);

/// MATLAB imresize(image, scale, 'bicubic') on a single image: output size ceil(scale * size),
/// rows (dimension 1) resized first, then columns; each pass sums in double and stores single.
PlaneF imresize_bicubic(const PlaneF& image, double scale, bool antialias = true);
/// As above with an explicit output size (MATLAB imresize(image, [h w], 'bicubic'): the scale
/// along each dimension is out / in).
PlaneF imresize_bicubic_to(const PlaneF& image, int64_t out_height, int64_t out_width,
                           bool antialias = true);

/// SRCNN's compute_psnr: 20 log10(255 / rmse) over all pixels (+inf for identical images).
double psnr(const PlaneU8& a, const PlaneU8& b);
/// Mean SSIM (Wang et al. 2004, ssim_index.m): 11x11 Gaussian window sigma 1.5, K1 0.01,
/// K2 0.03, L 255, statistics over the 'valid' region. ShapeError below 11x11.
double ssim(const PlaneU8& a, const PlaneU8& b);

/// A super-resolution model: maps the bicubic-upscaled Y in [0, 1] (H x W) to its estimate of
/// the ground truth (H x W).
using SrModel = std::function<PlaneF(const PlaneF& bicubic)>;

struct SrOptions {
  int scale = 3;
  bool ssim = false;
  /// true: SRCNN's protocol, PSNR / SSIM on uint8(x * 255). false: on x * 255 unrounded and
  /// unclamped (as the VDSR demo code computes its PSNR); SSIM always uses uint8.
  bool quantize = true;
};

struct SrResult {
  std::string name;
  int64_t height = 0, width = 0;  ///< ground truth after modcrop
  double psnr_bicubic = 0, psnr_model = 0;
  double ssim_bicubic = 0, ssim_model = 0;  ///< NaN unless SrOptions::ssim
};

/// The protocol on one ground-truth luma image: modcrop, im_gt = single(Y) / 255, bicubic down by
/// 1 / scale and up by scale, the model on the upscaled image, shave `scale` pixels, PSNR (and
/// SSIM) of bicubic and model against the ground truth. ConfigError for scale < 2; ShapeError
/// for an image too small for the scale or a model output of the wrong size.
SrResult evaluate_sr(const PlaneU8& luma, const SrModel& model, const SrOptions& options,
                     const std::string& name = "");

/// Wraps a net as an SrModel: each call reshapes `input` to 1 x 1 x H x W, runs forward and
/// returns `output`. Empty names pick the net's first Input top and its only output blob.
/// ShapeError when the input does not have 1 channel or the output is not 1 x 1 x H x W;
/// ConfigError when the output cannot be chosen. The net must outlive the model.
SrModel net_sr_model(Net<float>& net, const std::string& input = "",
                     const std::string& output = "");

}  // namespace sr
}  // namespace crema
