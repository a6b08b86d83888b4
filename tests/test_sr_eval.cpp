// The SRCNN super-resolution test protocol (core/sr_eval), the paper numbers it reproduces on
// Set5 with the official weights, and `crema sr-eval` end to end.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <random>
// OpenCV's headers trip a C++20 enum-arithmetic deprecation warning.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-enum-enum-conversion"
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#pragma GCC diagnostic pop

#include "core/mat_weights.h"
#include "core/net.h"
#include "core/sr_eval.h"
#include "tests/data_test_util.h"
#include "tests/e2e_util.h"
#include "tests/reference/sr_ref.h"
#include "tests/test_util.h"

namespace crema {
namespace {

using sr::PlaneF;
using sr::PlaneU8;
namespace fs = std::filesystem;

std::string set5_dir(const std::string& sub) { return test::shared_data_dir() + "/sr_set5/" + sub; }
std::string srcnn_weights(const std::string& rel) {
  return test::shared_data_dir() + "/srcnn_models/" + rel;
}
std::string zoo(const std::string& rel) { return std::string(CREMA_SOURCE_DIR) + "/models/" + rel; }

const std::vector<std::string> kSet5 = {"baby", "bird", "butterfly", "head", "woman"};

// A net loaded for SR evaluation (the context must outlive the net, hence the heap).
struct SrNet {
  Context ctx = Context::cpu(0);
  std::unique_ptr<Net<float>> net;
  sr::SrModel model;
};

std::unique_ptr<SrNet> load_net(const std::string& deploy, const std::string& weights) {
  auto s = std::make_unique<SrNet>();
  s->net = std::make_unique<Net<float>>(deploy, s->ctx, TEST);
  if (fs::path(weights).extension() == ".mat") {
    load_srcnn_mat_weights(weights, *s->net);
  } else {
    const WeightsReport r = s->net->copy_trained_layers_from(weights, true);
    EXPECT_TRUE(r.missing.empty()) << r.summary();
  }
  s->model = sr::net_sr_model(*s->net);
  return s;
}

struct Set5Scores {
  std::vector<sr::SrResult> images;
  double bicubic = 0, model = 0, ssim_bicubic = 0, ssim_model = 0;
};

Set5Scores run_set5(const sr::SrModel& model, int scale, bool ssim, const std::string& label) {
  Set5Scores s;
  sr::SrOptions opt;
  opt.scale = scale;
  opt.ssim = ssim;
  for (const auto& name : kSet5) {
    const PlaneU8 y = sr::read_luma(set5_dir("srcnn_bmp/" + name + "_GT.bmp"));
    s.images.push_back(sr::evaluate_sr(y, model, opt, name));
    const auto& r = s.images.back();
    s.bicubic += r.psnr_bicubic / 5, s.model += r.psnr_model / 5;
    s.ssim_bicubic += r.ssim_bicubic / 5, s.ssim_model += r.ssim_model / 5;
  }
  std::printf("Set5 x%d %-22s PSNR bicubic %.4f model %.4f", scale, label.c_str(), s.bicubic,
              s.model);
  if (ssim) std::printf("  SSIM bicubic %.4f model %.4f", s.ssim_bicubic, s.ssim_model);
  std::printf("\n");
  return s;
}

const sr::SrModel kIdentity = [](const PlaneF& x) { return x; };

// ---------------------------------------------------------------- protocol building blocks

TEST(SrEval, LumaIsMatlabRgb2ycbcrOnUint8) {
  // (R, G, B) -> round(16 + (65.481 R + 128.553 G + 24.966 B) / 255), worked by hand.
  const std::vector<std::pair<std::array<uint8_t, 3>, uint8_t>> cases = {
      {{0, 0, 0}, 16},        {{255, 255, 255}, 235}, {{255, 0, 0}, 81},  // 81.481
      {{0, 255, 0}, 145},                                                 // 144.553
      {{0, 0, 255}, 41},                                                  // 40.966
      {{100, 150, 200}, 137},  // 16 + 30824.25 / 255 = 136.879
      {{1, 2, 3}, 18},         // 16 + 347.485 / 255 = 17.363
  };
  for (const auto& [rgb, want] : cases) {
    const uint8_t bgr[3] = {rgb[2], rgb[1], rgb[0]};
    EXPECT_EQ(sr::luma_from_bgr(bgr, 1, 1).data[0], want)
        << int(rgb[0]) << "," << int(rgb[1]) << "," << int(rgb[2]);
  }
  // 4 bytes per pixel (alpha ignored).
  const uint8_t bgra[8] = {0, 0, 255, 9, 255, 255, 255, 0};
  EXPECT_EQ(sr::luma_from_bgr(bgra, 1, 2, 4).data, (std::vector<uint8_t>{81, 235}));
}

TEST(SrEval, ReadLumaTakesYOfColourFilesInBgrOrderAndGreyAsIs) {
  test::TempDir dir;
  cv::Mat colour(1, 3, CV_8UC3);
  colour.at<cv::Vec3b>(0, 0) = cv::Vec3b(0, 0, 255);  // pure red in OpenCV's BGR
  colour.at<cv::Vec3b>(0, 1) = cv::Vec3b(255, 0, 0);  // pure blue
  colour.at<cv::Vec3b>(0, 2) = cv::Vec3b(0, 255, 0);  // pure green
  ASSERT_TRUE(cv::imwrite(dir / "c.png", colour));
  const PlaneU8 y = sr::read_luma(dir / "c.png");
  ASSERT_EQ(y.height, 1);
  ASSERT_EQ(y.width, 3);
  EXPECT_EQ(y.data, (std::vector<uint8_t>{81, 41, 145}));
  cv::Mat grey(2, 2, CV_8UC1);
  grey.at<uint8_t>(0, 0) = 0, grey.at<uint8_t>(0, 1) = 7, grey.at<uint8_t>(1, 0) = 200,
                      grey.at<uint8_t>(1, 1) = 255;
  ASSERT_TRUE(cv::imwrite(dir / "g.png", grey));
  EXPECT_EQ(sr::read_luma(dir / "g.png").data, (std::vector<uint8_t>{0, 7, 200, 255}));
  write_file_atomic(dir / "bad.png", "not a png");
  EXPECT_THROW(sr::read_luma(dir / "bad.png"), DataError);
  EXPECT_THROW(sr::read_luma(dir / "absent.png"), DataError);
}

TEST(SrEval, ModcropShaveAndUint8Conversion) {
  PlaneU8 im(7, 8);
  for (int64_t i = 0; i < 56; ++i) im.data[i] = static_cast<uint8_t>(i);
  const PlaneU8 c = sr::modcrop(im, 3);
  EXPECT_EQ(c.height, 6);
  EXPECT_EQ(c.width, 6);
  EXPECT_EQ(c(5, 5), im(5, 5));
  const PlaneU8 s = sr::shave(c, 2);
  ASSERT_EQ(s.height, 2);
  EXPECT_EQ(s(0, 0), im(2, 2));
  EXPECT_EQ(s(1, 1), im(3, 3));
  EXPECT_THROW(sr::shave(c, 3), ShapeError);
  PlaneF f(1, 6);
  f.data = {0.5f, 0.25f, -0.01f, 1.01f, std::nanf(""), 1.0f};
  EXPECT_EQ(sr::to_uint8(f).data, (std::vector<uint8_t>{128, 64, 0, 255, 0, 255}));  // half up
  PlaneU8 u(1, 2);
  u.data = {0, 255};
  EXPECT_EQ(sr::to_unit(u).data, (std::vector<float>{0.f, 1.f}));
}

void expect_row(const sr::ResizeContributions& c, int64_t row, const std::vector<double>& w,
                const std::vector<int64_t>& idx) {
  ASSERT_EQ(c.taps, static_cast<int64_t>(w.size()));
  for (int64_t k = 0; k < c.taps; ++k) {
    EXPECT_NEAR(c.weights[row * c.taps + k], w[k], 1e-15) << "row " << row << " tap " << k;
    EXPECT_EQ(c.indices[row * c.taps + k], idx[k]) << "row " << row << " tap " << k;
  }
}

// Worked by hand from MATLAB imresize's contributions(): cubic(0.25) = 0.8671875,
// cubic(0.75) = 0.2265625, cubic(1.25) = -0.0703125, cubic(1.75) = -0.0234375,
// cubic(0.5) = 0.5625, cubic(1.5) = -0.0625; taps outside mirror as 1..n, n..1.
TEST(SrEval, BicubicContributionsMatchHandComputedMatlabValues) {
  // Up x2, length 4: x = 1 -> u = 0.75, taps at 1-based -1..2 (the all-zero outer ones dropped).
  const auto up = sr::bicubic_contributions(4, 8, 2.0);
  expect_row(up, 0, {-0.0234375, 0.2265625, 0.8671875, -0.0703125}, {1, 0, 0, 1});
  expect_row(up, 1, {-0.0703125, 0.8671875, 0.2265625, -0.0234375}, {0, 0, 1, 2});
  // x = 8 -> u = 4.25: taps 3..6 (1-based), 5 and 6 mirror back onto 4 and 3.
  expect_row(up, 7, {-0.0703125, 0.8671875, 0.2265625, -0.0234375}, {2, 3, 3, 2});
  // Down x1/2 with antialiasing: kernel 0.5 * cubic(x / 2), 8 taps.
  const auto down = sr::bicubic_contributions(4, 2, 0.5);
  const std::vector<double> w = {-0.01171875, -0.03515625, 0.11328125,  0.43359375,
                                 0.43359375,  0.11328125,  -0.03515625, -0.01171875};
  expect_row(down, 0, w, {2, 1, 0, 0, 1, 2, 3, 3});
  expect_row(down, 1, w, {0, 0, 1, 2, 3, 3, 2, 1});
  // Without antialiasing the kernel keeps width 4.
  const auto plain = sr::bicubic_contributions(4, 2, 0.5, false);
  expect_row(plain, 0, {-0.0625, 0.5625, 0.5625, -0.0625}, {0, 0, 1, 2});
}

TEST(SrEval, ImresizeHandComputedCases) {
  // A vertical ramp 0..3 halved: rows become sum(w * mirrored ramp) = 0.4609375 and 2.5390625.
  PlaneF ramp(4, 4);
  for (int64_t r = 0; r < 4; ++r)
    for (int64_t c = 0; c < 4; ++c) ramp(r, c) = static_cast<float>(r);
  const PlaneF half = sr::imresize_bicubic(ramp, 0.5);
  ASSERT_EQ(half.height, 2);
  ASSERT_EQ(half.width, 2);
  EXPECT_EQ(half.data, (std::vector<float>{0.4609375f, 0.4609375f, 2.5390625f, 2.5390625f}));
  // Output size is ceil(scale * size); a constant stays constant.
  PlaneF flat(5, 7, 0.37f);
  const PlaneF third = sr::imresize_bicubic(flat, 1.0 / 3);
  EXPECT_EQ(third.height, 2);
  EXPECT_EQ(third.width, 3);
  const PlaneF up = sr::imresize_bicubic(third, 3.0);
  EXPECT_EQ(up.height, 6);
  EXPECT_EQ(up.width, 9);
  for (float v : up.data) EXPECT_NEAR(v, 0.37f, 1e-6f);
  // Explicit output size: the smaller scale goes first; still exact on a constant.
  const PlaneF sized = sr::imresize_bicubic_to(flat, 3, 20);
  EXPECT_EQ(sized.height, 3);
  EXPECT_EQ(sized.width, 20);
  for (float v : sized.data) EXPECT_NEAR(v, 0.37f, 1e-6f);
}

// The shipped LR PNGs are MATLAB imresize(HR, 1/s, 'bicubic') on the uint8 RGB image.
TEST(SrEval, BicubicDownscaleMatchesTheShippedLrImages) {
  double total_diff = 0, total_exact = 0, total_n = 0;
  for (int s : {2, 3, 4}) {
    for (int i = 1; i <= 5; ++i) {
      const std::string stem = set5_dir("image_SRF_" + std::to_string(s) + "/img_00" +
                                        std::to_string(i) + "_SRF_" + std::to_string(s));
      const cv::Mat hr = cv::imread(stem + "_HR.png", cv::IMREAD_COLOR);
      const cv::Mat lr = cv::imread(stem + "_LR.png", cv::IMREAD_COLOR);
      ASSERT_FALSE(hr.empty() || lr.empty()) << stem;
      double diff = 0, n = 0, exact = 0;
      for (int ch = 0; ch < 3; ++ch) {
        PlaneF plane(hr.rows, hr.cols);
        for (int r = 0; r < hr.rows; ++r)
          for (int c = 0; c < hr.cols; ++c) plane(r, c) = hr.at<cv::Vec3b>(r, c)[ch];
        const PlaneF small = sr::imresize_bicubic(plane, 1.0 / s);
        ASSERT_EQ(small.height, lr.rows);
        ASSERT_EQ(small.width, lr.cols);
        for (int r = 0; r < lr.rows; ++r)
          for (int c = 0; c < lr.cols; ++c) {
            const double v = std::clamp(std::round(small(r, c)), 0.0f, 255.0f);
            const double d = std::fabs(v - lr.at<cv::Vec3b>(r, c)[ch]);
            diff += d, exact += d == 0, n += 1;
          }
      }
      EXPECT_LT(diff / n, 0.5) << stem;
      total_diff += diff, total_exact += exact, total_n += n;
    }
  }
  std::printf("downscaled HR vs shipped LR: mean |diff| %.4f grey levels, %.1f%% exact\n",
              total_diff / total_n, 100 * total_exact / total_n);
  EXPECT_LT(total_diff / total_n, 0.2);
}

TEST(SrEval, PsnrAndSsimHandCases) {
  // One pixel off by 255 among n: MSE = 255^2 / n, PSNR = 10 log10(n).
  PlaneU8 a(10, 10, 0), b(10, 10, 0);
  b(3, 4) = 255;
  EXPECT_NEAR(sr::psnr(a, b), 20.0, 1e-12);
  EXPECT_TRUE(std::isinf(sr::psnr(a, a)));
  // Flat images: SSIM = (2 mu1 mu2 + C1) / (mu1^2 + mu2^2 + C1) with C1 = (0.01 * 255)^2.
  PlaneU8 f(12, 15, 100), g(12, 15, 110);
  const double c1 = 2.55 * 2.55;
  EXPECT_NEAR(sr::ssim(f, g), (2 * 100.0 * 110 + c1) / (100.0 * 100 + 110.0 * 110 + c1), 1e-12);
  EXPECT_NEAR(sr::ssim(f, f), 1.0, 1e-12);
  EXPECT_THROW(sr::ssim(PlaneU8(10, 20), PlaneU8(10, 20)), ShapeError);
  EXPECT_THROW(sr::psnr(PlaneU8(10, 20), PlaneU8(10, 21)), ShapeError);
}

TEST(SrEval, SsimMatchesTheFullWindowReference) {
  std::mt19937 gen(5);
  std::uniform_int_distribution<int> u(0, 255), noise(-20, 20);
  PlaneU8 a(23, 31), b(23, 31);
  for (size_t i = 0; i < a.data.size(); ++i) {
    a.data[i] = static_cast<uint8_t>(u(gen));
    b.data[i] = static_cast<uint8_t>(std::clamp(a.data[i] + noise(gen), 0, 255));
  }
  const std::vector<double> da(a.data.begin(), a.data.end()), db(b.data.begin(), b.data.end());
  const double want = ref::ssim_full_window(da, db, 23, 31);
  EXPECT_NEAR(sr::ssim(a, b), want, 1e-12);
  EXPECT_GT(want, 0.5);
  EXPECT_LT(want, 0.99);
}

TEST(SrEval, Set5BicubicMatchesThePaperAtEveryScale) {
  // Bicubic PSNR needs no net: it checks modcrop, imresize down and up, shave and PSNR.
  const std::map<int, double> paper = {{2, 33.66}, {3, 30.39}, {4, 28.42}};
  for (const auto& [scale, want] : paper) {
    const Set5Scores s = run_set5(kIdentity, scale, scale == 3, "bicubic");
    EXPECT_NEAR(s.bicubic, want, 0.05) << "x" << scale;
    EXPECT_DOUBLE_EQ(s.model, s.bicubic);
  }
}

TEST(SrEval, FloatPsnrScoresUnroundedOutputs) {
  // A flat image and a model that adds 0.3 grey levels: rounding hides the error, the float
  // protocol sees it (PSNR = 20 log10(255 / 0.3)).
  const PlaneU8 flat(30, 33, 100);
  const sr::SrModel nudge = [](const PlaneF& x) {
    PlaneF y = x;
    for (float& v : y.data) v += 0.3f / 255;
    return y;
  };
  sr::SrOptions opt;
  opt.scale = 3;
  opt.ssim = true;
  const sr::SrResult rounded = sr::evaluate_sr(flat, nudge, opt);
  EXPECT_TRUE(std::isinf(rounded.psnr_model));
  EXPECT_NEAR(rounded.ssim_model, 1.0, 1e-12);
  opt.quantize = false;
  const sr::SrResult exact = sr::evaluate_sr(flat, nudge, opt);
  EXPECT_NEAR(exact.psnr_model, 20 * std::log10(255 / 0.3), 1e-3);
  EXPECT_GT(exact.psnr_bicubic, 100);  // a flat image resizes to itself up to float rounding
}

TEST(SrEval, Errors) {
  PlaneU8 im(40, 40, 128);
  sr::SrOptions opt;
  opt.scale = 1;
  EXPECT_THROW(sr::evaluate_sr(im, kIdentity, opt), ConfigError);
  opt.scale = 3;
  EXPECT_THROW(sr::evaluate_sr(PlaneU8(6, 40, 1), kIdentity, opt), ShapeError);
  const sr::SrModel shrinking = [](const PlaneF& x) { return PlaneF(x.height - 2, x.width - 2); };
  EXPECT_THROW(sr::evaluate_sr(im, shrinking, opt), ShapeError);
  EXPECT_THROW(sr::evaluate_sr(im, sr::SrModel(), opt), ConfigError);
  Context ctx = Context::cpu(1);
  auto build = [&](const std::string& text) {
    NetParameter np;
    EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &np));
    NetState st;
    st.set_phase(TEST);
    return std::make_unique<Net<float>>(np, ctx, st);
  };
  // A 3-channel input cannot take the Y image.
  auto rgb = build(
      "layer { name: 'data' type: 'Input' top: 'data' input_param { shape { dim: 1 dim: 3 dim: 8 "
      "dim: 8 } } } layer { name: 'c' type: 'Convolution' bottom: 'data' top: 'c' "
      "convolution_param { num_output: 1 kernel_size: 1 } }");
  EXPECT_THROW(sr::net_sr_model(*rgb), ShapeError);
  // Two outputs: which one is the image?
  auto two = build(
      "layer { name: 'data' type: 'Input' top: 'data' input_param { shape { dim: 1 dim: 1 dim: 8 "
      "dim: 8 } } } layer { name: 'c' type: 'Convolution' bottom: 'data' top: 'c' "
      "convolution_param { num_output: 1 kernel_size: 1 } } layer { name: 'd' type: "
      "'Convolution' bottom: 'data' top: 'd' convolution_param { num_output: 1 kernel_size: 1 } }");
  EXPECT_THROW(sr::net_sr_model(*two), ConfigError);
  EXPECT_NO_THROW(sr::net_sr_model(*two, "data", "d"));
  // An unpadded conv shrinks the image.
  auto valid = build(
      "layer { name: 'data' type: 'Input' top: 'data' input_param { shape { dim: 1 dim: 1 dim: 8 "
      "dim: 8 } } } layer { name: 'c' type: 'Convolution' bottom: 'data' top: 'c' "
      "convolution_param { num_output: 1 kernel_size: 3 } }");
  EXPECT_THROW(sr::evaluate_sr(im, sr::net_sr_model(*valid), opt), ShapeError);
}

// ---------------------------------------------------------------- paper numbers on Set5

TEST(SrSrcnn, Set5X3Srcnn955MatchesThePaperPerImage) {
  auto net = load_net(zoo("srcnn/deploy_9-5-5.prototxt"),
                      srcnn_weights("official_matlab/9-5-5_imagenet/x3.mat"));
  const Set5Scores s = run_set5(net->model, 3, true, "SRCNN 9-5-5");
  EXPECT_NEAR(s.bicubic, 30.39, 0.05);
  EXPECT_NEAR(s.model, 32.75, 0.05);
  // sr_set5/README.md: baby 35.25, bird 35.48, butterfly 27.95, head 33.71, woman 31.36.
  const std::vector<double> per_image = {35.25, 35.48, 27.95, 33.71, 31.36};
  for (size_t i = 0; i < 5; ++i) {
    std::printf("  %-10s bicubic %.4f SRCNN %.4f  SSIM %.4f / %.4f\n", kSet5[i].c_str(),
                s.images[i].psnr_bicubic, s.images[i].psnr_model, s.images[i].ssim_bicubic,
                s.images[i].ssim_model);
    EXPECT_NEAR(s.images[i].psnr_model, per_image[i], 0.015) << kSet5[i];
  }
  // SSIM as listed for bicubic and SRCNN in the VDSR paper (Kim et al. 2016, Table 3).
  EXPECT_NEAR(s.ssim_bicubic, 0.8682, 0.0005);
  EXPECT_NEAR(s.ssim_model, 0.9090, 0.0005);
}

TEST(SrSrcnn, Set5X3Srcnn915MatchesThePaper) {
  auto net = load_net(zoo("srcnn/deploy_9-1-5.prototxt"),
                      srcnn_weights("official_matlab/9-1-5_91images/x3.mat"));
  EXPECT_NEAR(run_set5(net->model, 3, false, "SRCNN 9-1-5 (91 img)").model, 32.39, 0.05);
}

TEST(SrSrcnn, Set5X3CommunityCaffemodel) {
  auto net = load_net(zoo("srcnn/deploy_9-1-5.prototxt"),
                      srcnn_weights("community_caffemodel/SRCNN_iter_9999500.caffemodel"));
  EXPECT_NEAR(run_set5(net->model, 3, false, "SRCNN community caffe").model, 32.52, 0.05);
}

TEST(SrSrcnn, Set5X2AndX4Srcnn955MatchThePaper) {
  // PSNR: SRCNN (TPAMI 2016); SSIM: the VDSR paper's Table 3.
  struct Want {
    double psnr_bicubic, psnr_srcnn, ssim_bicubic, ssim_srcnn;
  };
  const std::map<int, Want> paper = {{2, {33.66, 36.66, 0.9299, 0.9542}},
                                     {4, {28.42, 30.48, 0.8104, 0.8628}}};
  for (const auto& [scale, want] : paper) {
    auto net = load_net(
        zoo("srcnn/deploy_9-5-5.prototxt"),
        srcnn_weights("official_matlab/9-5-5_imagenet/x" + std::to_string(scale) + ".mat"));
    const Set5Scores s = run_set5(net->model, scale, true, "SRCNN 9-5-5");
    EXPECT_NEAR(s.bicubic, want.psnr_bicubic, 0.05) << "x" << scale;
    EXPECT_NEAR(s.model, want.psnr_srcnn, 0.05) << "x" << scale;
    EXPECT_NEAR(s.ssim_bicubic, want.ssim_bicubic, 0.0005) << "x" << scale;
    EXPECT_NEAR(s.ssim_model, want.ssim_srcnn, 0.0005) << "x" << scale;
  }
}

TEST(SrSrcnn, Set5X3FilterSizesImageNet) {
  // TPAMI 2016 (filter-size study, ImageNet, Set5 x3): 9-1-5 32.52, 9-3-5 32.66, 9-5-5 32.75.
  auto n915 = load_net(zoo("srcnn/deploy_9-1-5.prototxt"),
                       srcnn_weights("official_matlab/9-1-5_imagenet/x3.mat"));
  auto n935 = load_net(zoo("srcnn/deploy_9-3-5.prototxt"),
                       srcnn_weights("official_matlab/9-3-5_imagenet/x3.mat"));
  EXPECT_NEAR(run_set5(n915->model, 3, false, "SRCNN 9-1-5 (ImageNet)").model, 32.52, 0.05);
  EXPECT_NEAR(run_set5(n935->model, 3, false, "SRCNN 9-3-5 (ImageNet)").model, 32.66, 0.05);
}

std::string vdsr_weights() { return test::shared_data_dir() + "/vdsr_caffe/VDSR_Adam.caffemodel"; }

// The default suite's VDSR check: one image (the smallest of Set5), x3.
TEST(SrVdsr, ButterflyX3BeatsSrcnn) {
  auto net = load_net(zoo("vdsr/deploy.prototxt"), vdsr_weights());
  sr::SrOptions opt;
  opt.scale = 3;
  const sr::SrResult r =
      sr::evaluate_sr(sr::read_luma(set5_dir("srcnn_bmp/butterfly_GT.bmp")), net->model, opt);
  std::printf("butterfly x3: bicubic %.4f VDSR %.4f (SRCNN 9-5-5 27.95)\n", r.psnr_bicubic,
              r.psnr_model);
  EXPECT_GT(r.psnr_model, 27.95 + 1.0);
}

// Slow (about 100 s of CPU): VDSR (huangzehao/caffe-vdsr's VDSR_Adam.caffemodel, one
// multi-scale model) on all of Set5 at every scale. Its README reports 37.58 / 33.68 / 31.33 dB
// from its MATLAB demo, which downsamples the RGB image and scores unrounded outputs.
TEST(SlowSrVdsr, Set5BeatsSrcnnAtEveryScale) {
  auto net = load_net(zoo("vdsr/deploy.prototxt"), vdsr_weights());
  const std::map<int, std::pair<double, double>> srcnn_and_readme = {
      {2, {36.66, 37.58}}, {3, {32.75, 33.68}}, {4, {30.48, 31.33}}};
  for (const auto& [scale, want] : srcnn_and_readme) {
    const Set5Scores s = run_set5(net->model, scale, true, "VDSR (caffe-vdsr Adam)");
    EXPECT_GT(s.model, want.first + 0.5) << "x" << scale;
    EXPECT_NEAR(s.model, want.second, 0.15) << "x" << scale;
  }
}

// ---------------------------------------------------------------- crema sr-eval

double after(const std::string& out, const std::string& key) {
  const size_t p = out.find(key);
  return p == std::string::npos ? NAN : std::atof(out.c_str() + p + key.size());
}

TEST(E2ESrEval, Set5X3Srcnn955PrintsThePaperMean) {
  const auto r =
      test::run_crema("sr-eval --model " + zoo("srcnn/deploy_9-5-5.prototxt") + " --weights " +
                          srcnn_weights("official_matlab/9-5-5_imagenet/x3.mat") + " --images " +
                          set5_dir("srcnn_bmp") + " --scale 3 --ssim --threads 2",
                      600);
  ASSERT_EQ(r.code, 0) << r.output;
  std::printf("%s", r.output.c_str());
  EXPECT_NEAR(after(r.output, "mean PSNR (dB): bicubic "), 30.39, 0.05) << r.output;
  EXPECT_NEAR(after(r.output, ", model "), 32.75, 0.05) << r.output;
  for (const auto& name : kSet5) EXPECT_NE(r.output.find(name + "_GT"), std::string::npos);
  EXPECT_NE(r.output.find("mean SSIM"), std::string::npos) << r.output;
}

TEST(E2ESrEval, HrSuffixPicksTheGroundTruthOfTheBenchmarkLayout) {
  // image_SRF_3 holds *_HR.png and *_LR.png: only the five HR files are ground truth. The
  // community caffemodel is 9-1-5 (cheap), and x3 is its scale.
  const auto r =
      test::run_crema("sr-eval --model " + zoo("srcnn/deploy_9-1-5.prototxt") + " --weights " +
                          srcnn_weights("community_caffemodel/SRCNN_iter_9999500.caffemodel") +
                          " --images " + set5_dir("image_SRF_3") + " --scale 3",
                      600);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("5 image(s)"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("_LR"), std::string::npos) << r.output;
  EXPECT_NEAR(after(r.output, "mean PSNR (dB): bicubic "), 30.39, 0.05) << r.output;
  EXPECT_NEAR(after(r.output, ", model "), 32.52, 0.05) << r.output;
}

TEST(E2ESrEval, ClearErrors) {
  const fs::path dir = test::scratch_dir("sr_eval_errors");
  const std::string deploy = zoo("srcnn/deploy_9-1-5.prototxt");
  const std::string mat = srcnn_weights("official_matlab/9-1-5_91images/x3.mat");
  fs::create_directories(dir / "empty");
  auto expect_error = [&](const std::string& args, const std::string& what) {
    const auto r = test::run_crema("sr-eval " + args);
    EXPECT_EQ(r.code, 1) << r.output;
    EXPECT_NE(r.output.find(what), std::string::npos) << r.output;
  };
  const std::string base = "--model " + deploy + " --weights " + mat;
  expect_error(base + " --images " + (dir / "empty").string() + " --scale 3", "no images in");
  expect_error(base + " --images " + (dir / "absent").string() + " --scale 3",
               "is not a directory");
  expect_error(base + " --images " + set5_dir("srcnn_bmp") + " --scale 1", "--scale must be >= 2");
  fs::create_directories(dir / "bad");
  test::write_text(dir / "bad" / "broken.png", "this is not a PNG");
  expect_error(base + " --images " + (dir / "bad").string() + " --scale 3", "cannot read image");
  test::write_text(
      dir / "rgb.prototxt",
      "name: 'rgb' layer { name: 'data' type: 'Input' top: 'data' input_param { shape { "
      "dim: 1 dim: 3 dim: 8 dim: 8 } } } layer { name: 'conv1' type: 'Convolution' "
      "bottom: 'data' top: 'c' convolution_param { num_output: 1 kernel_size: 1 } }");
  expect_error("--model " + (dir / "rgb.prototxt").string() + " --weights " +
                   srcnn_weights("community_caffemodel/SRCNN_iter_9999500.caffemodel") +
                   " --images " + set5_dir("srcnn_bmp") + " --scale 3",
               "needs 1 channel");
  // 9-5-5 weights into the 9-1-5 net.
  expect_error("--model " + deploy + " --weights " +
                   srcnn_weights("official_matlab/9-5-5_imagenet/x3.mat") + " --images " +
                   set5_dir("srcnn_bmp") + " --scale 3",
               "weights_conv2");
}

}  // namespace
}  // namespace crema
