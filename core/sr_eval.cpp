#include "core/sr_eval.h"

#include <algorithm>
#include <cmath>
#include <limits>
// OpenCV's headers trip a C++20 enum-arithmetic deprecation warning.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-enum-enum-conversion"
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#pragma GCC diagnostic pop

#include "core/error.h"
#include "core/io.h"
#include "core/net.h"

namespace crema::sr {
namespace {

// MATLAB's round: half away from zero (std::round does the same).
uint8_t saturate_round(double v) {
  if (!(v > 0)) return 0;  // negatives and NaN
  if (v >= 255) return 255;
  return static_cast<uint8_t>(std::round(v));
}

// MATLAB imresize's cubic kernel (Keys, a = -0.5), written as MATLAB writes it.
double cubic(double x) {
  const double ax = std::fabs(x), ax2 = ax * ax, ax3 = ax2 * ax;
  return (1.5 * ax3 - 2.5 * ax2 + 1) * (ax <= 1 ? 1.0 : 0.0) +
         (-0.5 * ax3 + 2.5 * ax2 - 4 * ax + 2) * ((1 < ax && ax <= 2) ? 1.0 : 0.0);
}

// One resize pass along rows (dim 0, MATLAB dimension 1) or columns (dim 1).
PlaneF resize_along(const PlaneF& in, int dim, int64_t out_length, double scale, bool antialias) {
  const int64_t in_length = dim == 0 ? in.height : in.width;
  const ResizeContributions c = bicubic_contributions(in_length, out_length, scale, antialias);
  PlaneF out(dim == 0 ? out_length : in.height, dim == 0 ? in.width : out_length);
  for (int64_t r = 0; r < out.height; ++r) {
    for (int64_t col = 0; col < out.width; ++col) {
      const int64_t o = dim == 0 ? r : col;
      double sum = 0;
      for (int64_t k = 0; k < c.taps; ++k) {
        const int64_t src = c.indices[o * c.taps + k];
        sum += c.weights[o * c.taps + k] * (dim == 0 ? in(src, col) : in(r, src));
      }
      out(r, col) = static_cast<float>(sum);
    }
  }
  return out;
}

// Normalised 1-d Gaussian of MATLAB fspecial('gaussian', 11, 1.5); the 2-d window is its outer
// product (fspecial's eps cut-off removes nothing at this size and sigma).
std::vector<double> gaussian_taps() {
  std::vector<double> g(11);
  double sum = 0;
  for (int i = 0; i < 11; ++i) sum += g[i] = std::exp(-(i - 5.0) * (i - 5.0) / (2 * 1.5 * 1.5));
  for (double& v : g) v /= sum;
  return g;
}

// filter2(window, x, 'valid') for the separable SSIM window.
std::vector<double> filter_valid(const std::vector<double>& x, int64_t h, int64_t w,
                                 const std::vector<double>& g) {
  const int64_t k = static_cast<int64_t>(g.size());
  const int64_t oh = h - k + 1, ow = w - k + 1;
  std::vector<double> rows(oh * w), out(oh * ow);
  for (int64_t r = 0; r < oh; ++r)
    for (int64_t c = 0; c < w; ++c) {
      double s = 0;
      for (int64_t i = 0; i < k; ++i) s += g[i] * x[(r + i) * w + c];
      rows[r * w + c] = s;
    }
  for (int64_t r = 0; r < oh; ++r)
    for (int64_t c = 0; c < ow; ++c) {
      double s = 0;
      for (int64_t j = 0; j < k; ++j) s += g[j] * rows[r * w + c + j];
      out[r * ow + c] = s;
    }
  return out;
}

double psnr_of(const std::vector<double>& a, const PlaneU8& ref) {
  double sq = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double d = a[i] - static_cast<double>(ref.data[i]);
    sq += d * d;
  }
  const double rmse = std::sqrt(sq / static_cast<double>(a.size()));
  return 20 * std::log10(255.0 / rmse);
}

std::vector<double> as_double(const PlaneU8& p) { return {p.data.begin(), p.data.end()}; }

// x * 255 in single precision, then widened (the unrounded, unclamped values).
std::vector<double> scaled_255(const PlaneF& p) {
  std::vector<double> v(p.data.size());
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>(p.data[i] * 255.0f);
  return v;
}

}  // namespace

PlaneU8 luma_from_bgr(const uint8_t* bgr, int64_t height, int64_t width, int stride) {
  // rgb2ycbcr scales the coefficient matrix by 1/255 for uint8 input (T = (1/255) * origT) and
  // keeps the offset 16; imlincomb sums K1 R + K2 G + K3 B + 16 in double and rounds once.
  const double kr = (1.0 / 255) * 65.481, kg = (1.0 / 255) * 128.553, kb = (1.0 / 255) * 24.966;
  PlaneU8 y(height, width);
  for (int64_t i = 0; i < height * width; ++i) {
    const uint8_t* p = bgr + i * stride;
    y.data[i] = saturate_round(kr * p[2] + kg * p[1] + kb * p[0] + 16);
  }
  return y;
}

PlaneU8 read_luma(const std::string& path) {
  CREMA_CHECK_AS(DataError, file_exists(path), "image ", path, " does not exist");
  const cv::Mat im = cv::imread(path, cv::IMREAD_UNCHANGED);
  CREMA_CHECK_AS(DataError, !im.empty(), "cannot read image ", path,
                 ": not an image format OpenCV can decode, or a damaged file");
  CREMA_CHECK_AS(DataError, im.depth() == CV_8U, "image ", path,
                 " is not 8 bits per channel (OpenCV depth ", im.depth(),
                 "); the SR protocol works on uint8 images");
  const int ch = im.channels();
  CREMA_CHECK_AS(DataError, ch == 1 || ch == 3 || ch == 4, "image ", path, " has ", ch,
                 " channels; expected 1 (grey), 3 (colour) or 4 (colour + alpha)");
  PlaneU8 out(im.rows, im.cols);
  for (int r = 0; r < im.rows; ++r) {
    const uint8_t* row = im.ptr<uint8_t>(r);
    if (ch == 1) {
      std::copy(row, row + im.cols, out.data.begin() + static_cast<int64_t>(r) * im.cols);
    } else {
      const PlaneU8 y = luma_from_bgr(row, 1, im.cols, ch);
      std::copy(y.data.begin(), y.data.end(), out.data.begin() + static_cast<int64_t>(r) * im.cols);
    }
  }
  return out;
}

PlaneU8 modcrop(const PlaneU8& image, int scale) {
  CREMA_CHECK_AS(ConfigError, scale >= 1, "modcrop scale must be >= 1, got ", scale);
  PlaneU8 out(image.height - image.height % scale, image.width - image.width % scale);
  for (int64_t r = 0; r < out.height; ++r)
    for (int64_t c = 0; c < out.width; ++c) out(r, c) = image(r, c);
  return out;
}

template <class T>
Plane<T> shave(const Plane<T>& image, int border) {
  CREMA_CHECK_AS(ShapeError, border >= 0 && image.height > 2 * border && image.width > 2 * border,
                 "cannot shave ", border, " pixels from a ", image.height, "x", image.width,
                 " image");
  Plane<T> out(image.height - 2 * border, image.width - 2 * border);
  for (int64_t r = 0; r < out.height; ++r)
    for (int64_t c = 0; c < out.width; ++c) out(r, c) = image(r + border, c + border);
  return out;
}
template Plane<uint8_t> shave(const Plane<uint8_t>&, int);
template Plane<float> shave(const Plane<float>&, int);

PlaneF to_unit(const PlaneU8& image) {
  PlaneF out(image.height, image.width);
  for (size_t i = 0; i < out.data.size(); ++i)
    out.data[i] = static_cast<float>(image.data[i]) / 255.0f;
  return out;
}

PlaneU8 to_uint8(const PlaneF& image) {
  PlaneU8 out(image.height, image.width);
  for (size_t i = 0; i < out.data.size(); ++i) out.data[i] = saturate_round(image.data[i] * 255.0f);
  return out;
}

ResizeContributions bicubic_contributions(int64_t in_length, int64_t out_length, double scale,
                                          bool antialias) {
  CREMA_CHECK_AS(ShapeError, in_length > 0 && out_length > 0, "cannot resize length ", in_length,
                 " to ", out_length);
  CREMA_CHECK_AS(ConfigError, scale > 0 && std::isfinite(scale), "resize scale must be > 0, got ",
                 scale);
  const bool stretch = scale < 1 && antialias;
  const double kernel_width = stretch ? 4.0 / scale : 4.0;
  const int64_t p = static_cast<int64_t>(std::ceil(kernel_width)) + 2;
  std::vector<double> w(out_length * p);
  std::vector<int64_t> idx(out_length * p);
  const int64_t period = 2 * in_length;
  for (int64_t o = 0; o < out_length; ++o) {
    const double x = static_cast<double>(o + 1);
    const double u = x / scale + 0.5 * (1 - 1 / scale);
    const int64_t left = static_cast<int64_t>(std::floor(u - kernel_width / 2));
    double sum = 0;
    for (int64_t j = 0; j < p; ++j) {
      const int64_t ind = left + j;  // 1-based, may fall outside [1, in_length]
      const double d = u - static_cast<double>(ind);
      const double v = stretch ? scale * cubic(scale * d) : cubic(d);
      w[o * p + j] = v;
      sum += v;
      // aux = [1:n, n:-1:1]; aux(mod(ind - 1, 2n) + 1), then 0-based.
      const int64_t m = ((ind - 1) % period + period) % period;
      idx[o * p + j] = m < in_length ? m : period - 1 - m;
    }
    for (int64_t j = 0; j < p; ++j) w[o * p + j] /= sum;
  }
  // Drop tap columns whose weight is zero for every output.
  std::vector<int64_t> keep;
  for (int64_t j = 0; j < p; ++j) {
    bool any = false;
    for (int64_t o = 0; o < out_length && !any; ++o) any = w[o * p + j] != 0;
    if (any) keep.push_back(j);
  }
  ResizeContributions c;
  c.taps = static_cast<int64_t>(keep.size());
  c.weights.resize(out_length * c.taps);
  c.indices.resize(out_length * c.taps);
  for (int64_t o = 0; o < out_length; ++o)
    for (int64_t k = 0; k < c.taps; ++k) {
      c.weights[o * c.taps + k] = w[o * p + keep[k]];
      c.indices[o * c.taps + k] = idx[o * p + keep[k]];
    }
  return c;
}

PlaneF imresize_bicubic(const PlaneF& image, double scale, bool antialias) {
  CREMA_CHECK_AS(ConfigError, scale > 0 && std::isfinite(scale), "resize scale must be > 0, got ",
                 scale);
  const auto out_h = static_cast<int64_t>(std::ceil(scale * static_cast<double>(image.height)));
  const auto out_w = static_cast<int64_t>(std::ceil(scale * static_cast<double>(image.width)));
  // Equal scales: MATLAB's stable sort of the scales resizes dimension 1 (rows) first.
  return resize_along(resize_along(image, 0, out_h, scale, antialias), 1, out_w, scale, antialias);
}

PlaneF imresize_bicubic_to(const PlaneF& image, int64_t out_height, int64_t out_width,
                           bool antialias) {
  CREMA_CHECK_AS(ShapeError, image.height > 0 && image.width > 0 && out_height > 0 && out_width > 0,
                 "cannot resize ", image.height, "x", image.width, " to ", out_height, "x",
                 out_width);
  const double sh = static_cast<double>(out_height) / static_cast<double>(image.height);
  const double sw = static_cast<double>(out_width) / static_cast<double>(image.width);
  // The dimension with the smaller scale goes first (ties: rows).
  if (sw < sh)
    return resize_along(resize_along(image, 1, out_width, sw, antialias), 0, out_height, sh,
                        antialias);
  return resize_along(resize_along(image, 0, out_height, sh, antialias), 1, out_width, sw,
                      antialias);
}

double psnr(const PlaneU8& a, const PlaneU8& b) {
  CREMA_CHECK_AS(ShapeError, a.height == b.height && a.width == b.width && !a.data.empty(),
                 "PSNR needs two images of the same non-empty size, got ", a.height, "x", a.width,
                 " and ", b.height, "x", b.width);
  return psnr_of(as_double(a), b);
}

double ssim(const PlaneU8& a, const PlaneU8& b) {
  CREMA_CHECK_AS(ShapeError, a.height == b.height && a.width == b.width,
                 "SSIM needs two images of the same size, got ", a.height, "x", a.width, " and ",
                 b.height, "x", b.width);
  CREMA_CHECK_AS(ShapeError, a.height >= 11 && a.width >= 11,
                 "SSIM needs images of at least 11x11 (its window), got ", a.height, "x", a.width);
  const int64_t h = a.height, w = a.width, n = h * w;
  const std::vector<double> g = gaussian_taps();
  const std::vector<double> x = as_double(a), y = as_double(b);
  std::vector<double> xx(n), yy(n), xy(n);
  for (int64_t i = 0; i < n; ++i) {
    xx[i] = x[i] * x[i];
    yy[i] = y[i] * y[i];
    xy[i] = x[i] * y[i];
  }
  const auto mu1 = filter_valid(x, h, w, g), mu2 = filter_valid(y, h, w, g);
  const auto sxx = filter_valid(xx, h, w, g), syy = filter_valid(yy, h, w, g),
             sxy = filter_valid(xy, h, w, g);
  const double c1 = (0.01 * 255) * (0.01 * 255), c2 = (0.03 * 255) * (0.03 * 255);
  double sum = 0;
  for (size_t i = 0; i < mu1.size(); ++i) {
    const double m1 = mu1[i] * mu1[i], m2 = mu2[i] * mu2[i], m12 = mu1[i] * mu2[i];
    const double s1 = sxx[i] - m1, s2 = syy[i] - m2, s12 = sxy[i] - m12;
    sum += ((2 * m12 + c1) * (2 * s12 + c2)) / ((m1 + m2 + c1) * (s1 + s2 + c2));
  }
  return sum / static_cast<double>(mu1.size());
}

SrResult evaluate_sr(const PlaneU8& luma, const SrModel& model, const SrOptions& options,
                     const std::string& name) {
  const int s = options.scale;
  CREMA_CHECK_AS(ConfigError, s >= 2, "the SR scale must be >= 2, got ", s);
  CREMA_CHECK_AS(ConfigError, static_cast<bool>(model), "no SR model given");
  const PlaneU8 gt8 = modcrop(luma, s);
  CREMA_CHECK_AS(ShapeError, gt8.height > 2 * s && gt8.width > 2 * s, "image ", name, " (",
                 luma.height, "x", luma.width, ") is too small for scale ", s,
                 ": nothing is left after cropping to a multiple of the scale and shaving ", s,
                 " pixels per side");
  const PlaneF gt = to_unit(gt8);
  const PlaneF low = imresize_bicubic(gt, 1.0 / s);
  const PlaneF bicubic = imresize_bicubic(low, static_cast<double>(s));
  CREMA_ASSERT(bicubic.height == gt.height && bicubic.width == gt.width);
  const PlaneF restored = model(bicubic);
  CREMA_CHECK_AS(ShapeError,
                 restored.height == gt.height && restored.width == gt.width &&
                     static_cast<int64_t>(restored.data.size()) == gt.height * gt.width,
                 "the SR model returned a ", restored.height, "x", restored.width, " image for a ",
                 gt.height, "x", gt.width,
                 " input; an SR net must keep the size (pad its convolutions)");
  SrResult r;
  r.name = name;
  r.height = gt.height;
  r.width = gt.width;
  const PlaneU8 ref = shave(gt8, s);
  const PlaneU8 bic8 = shave(to_uint8(bicubic), s), out8 = shave(to_uint8(restored), s);
  if (options.quantize) {
    r.psnr_bicubic = psnr(bic8, ref);
    r.psnr_model = psnr(out8, ref);
  } else {
    r.psnr_bicubic = psnr_of(scaled_255(shave(bicubic, s)), ref);
    r.psnr_model = psnr_of(scaled_255(shave(restored, s)), ref);
  }
  r.ssim_bicubic = r.ssim_model = std::numeric_limits<double>::quiet_NaN();
  if (options.ssim) {
    r.ssim_bicubic = ssim(bic8, ref);
    r.ssim_model = ssim(out8, ref);
  }
  return r;
}

SrModel net_sr_model(Net<float>& net, const std::string& input, const std::string& output) {
  std::string in_name = input, out_name = output;
  if (in_name.empty()) {
    for (size_t l = 0; l < net.layers().size() && in_name.empty(); ++l)
      if (std::string(net.layers()[l]->type()) == "Input" && !net.top_ids()[l].empty())
        in_name = net.blob_names()[net.top_ids()[l][0]];
    CREMA_CHECK_AS(ConfigError, !in_name.empty(), "net '", net.name(),
                   "' has no Input layer (or legacy `input:`) for the image");
  }
  if (out_name.empty()) {
    const auto& outs = net.output_blob_indices();
    std::string names;
    for (int i : outs) names += (names.empty() ? "'" : ", '") + net.blob_names()[i] + "'";
    CREMA_CHECK_AS(ConfigError, outs.size() == 1, "net '", net.name(), "' has ", outs.size(),
                   " output blobs (", names, "); an SR net needs exactly one (the image)");
    out_name = net.blob_names()[outs[0]];
  }
  Tensor<float>* in = net.blob_by_name(in_name).get();
  Tensor<float>* out = net.blob_by_name(out_name).get();
  CREMA_CHECK_AS(ShapeError, in->num_axes() == 4 && in->shape(1) == 1, "net input '", in_name,
                 "' has shape ", in->shape_string(),
                 "; SR evaluation feeds the 1-channel Y image as 1 x 1 x H x W, so the input "
                 "needs 1 channel");
  return [&net, in, out, in_name, out_name](const PlaneF& image) {
    in->reshape({1, 1, image.height, image.width});
    std::copy(image.data.begin(), image.data.end(), in->mutable_cpu_data());
    net.reshape();
    net.forward();
    CREMA_CHECK_AS(ShapeError,
                   out->shape() == std::vector<int64_t>({1, 1, image.height, image.width}),
                   "net output '", out_name, "' has shape ", out->shape_string(), " for a ",
                   image.height, "x", image.width, " input '", in_name,
                   "'; an SR net must return 1 x 1 x H x W (pad its convolutions, e.g. with "
                   "Pad REPLICATE)");
    PlaneF result(image.height, image.width);
    std::copy(out->cpu_data(), out->cpu_data() + out->count(), result.data.begin());
    return result;
  };
}

}  // namespace crema::sr
