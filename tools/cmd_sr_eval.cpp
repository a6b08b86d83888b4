// crema sr-eval: super-resolution PSNR / SSIM of a net on a folder of ground-truth images.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "core/mat_weights.h"
#include "core/net.h"
#include "core/sr_eval.h"
#include "tools/commands.h"

namespace crema::cli {
namespace fs = std::filesystem;
namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The ground-truth images of `dir`, sorted by name. "auto": files named *_HR when there are any
// (the SelfExSR benchmark layout, whose *_LR files are inputs, not ground truth), else every
// image except *_LR; "" keeps every image; anything else keeps the stems ending in it.
std::vector<fs::path> list_images(const std::string& dir, const std::string& suffix) {
  std::error_code ec;
  CREMA_CHECK_AS(DataError, fs::is_directory(dir, ec), "--images ", dir,
                 " is not a directory; give the folder of ground-truth (high-resolution) images");
  static const std::vector<std::string> kExt = {".png", ".bmp", ".jpg", ".jpeg", ".tif", ".tiff"};
  std::vector<fs::path> all;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string ext = lower(e.path().extension().string());
    if (e.is_regular_file() && std::find(kExt.begin(), kExt.end(), ext) != kExt.end())
      all.push_back(e.path());
  }
  CREMA_CHECK_AS(DataError, !ec, "cannot list ", dir, ": ", ec.message());
  std::sort(all.begin(), all.end());
  auto stem_ends = [](const fs::path& p, const std::string& s) {
    return ends_with(p.stem().string(), s);
  };
  std::vector<fs::path> keep;
  if (suffix == "auto") {
    const bool any_hr =
        std::any_of(all.begin(), all.end(), [&](const fs::path& p) { return stem_ends(p, "_HR"); });
    for (const auto& p : all)
      if (any_hr ? stem_ends(p, "_HR") : !stem_ends(p, "_LR")) keep.push_back(p);
  } else {
    for (const auto& p : all)
      if (stem_ends(p, suffix)) keep.push_back(p);
  }
  const std::string filter = suffix == "auto" ? "; *_LR files are skipped"
                             : suffix.empty() ? ""
                                              : " whose name ends in '" + suffix + "'";
  CREMA_CHECK_AS(DataError, !keep.empty(), "no images in ", dir,
                 " (looked for .png, .bmp, .jpg, .jpeg, .tif, .tiff", filter, "); found ",
                 all.size(), " image file(s) in all");
  return keep;
}

}  // namespace

void register_sr_eval(CLI::App& app) {
  struct Opts {
    std::string model, weights, images, hr_suffix = "auto";
    int scale = 0;
    bool ssim = false, float_psnr = false;
    DeviceOptions dev;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = app.add_subcommand(
      "sr-eval",
      "Super-resolution test protocol of the SRCNN paper (Y of rgb2ycbcr, modcrop, MATLAB "
      "bicubic down and up, shave the scale, PSNR on 8 bits): bicubic vs the net, per image and "
      "mean");
  cmd->add_option("--model", o->model,
                  "Deploy prototxt: 1-channel input (the bicubic-upscaled Y in [0, 1]), one "
                  "output of the same size")
      ->required();
  cmd->add_option("--weights", o->weights,
                  "Weights: a .caffemodel / Crema weights file, or the official SRCNN MATLAB "
                  ".mat (filling layers conv1, conv2, conv3)")
      ->required();
  cmd->add_option("--images", o->images, "Folder of ground-truth images (png, bmp, jpg, tif)")
      ->required();
  cmd->add_option("--scale", o->scale, "Upscaling factor (2, 3, 4, ...)")->required();
  cmd->add_option("--hr-suffix", o->hr_suffix,
                  "Keep only images whose name (without extension) ends in this; 'auto' (the "
                  "default) keeps *_HR files when there are any, else everything but *_LR; '' "
                  "keeps all");
  cmd->add_flag("--ssim", o->ssim, "Also report SSIM (Wang et al. 2004, on the 8-bit Y)");
  cmd->add_flag("--float-psnr", o->float_psnr,
                "PSNR on the unrounded, unclamped outputs x 255 (as the VDSR demo code) instead "
                "of uint8(x * 255)");
  add_device_options(cmd, &o->dev);
  cmd->callback([o] {
    CREMA_CHECK_AS(ConfigError, o->scale >= 2, "--scale must be >= 2, got ", o->scale);
    const std::vector<fs::path> files = list_images(o->images, o->hr_suffix);
    Context ctx = make_context(o->dev);
    Net<float> net(o->model, ctx, TEST);
    // Checks the net's input and output before any weights are read.
    const sr::SrModel model = sr::net_sr_model(net);
    if (lower(fs::path(o->weights).extension().string()) == ".mat") {
      load_srcnn_mat_weights(o->weights, net);
    } else {
      const WeightsReport report = net.copy_trained_layers_from(o->weights, true);
      if (!report.missing.empty()) {
        std::string names;
        for (const auto& n : report.missing) names += (names.empty() ? "'" : ", '") + n + "'";
        throw DataError(str_cat(o->weights, ": no weights for layer(s) ", names, " of ", o->model,
                                "; the weights do not belong to this model"));
      }
    }
    sr::SrOptions opt;
    opt.scale = o->scale;
    opt.ssim = o->ssim;
    opt.quantize = !o->float_psnr;
    std::printf("sr-eval: %zu image(s) from %s, scale %d, %d thread(s)\n", files.size(),
                o->images.c_str(), o->scale, ctx.threads);
    std::printf("%-24s %11s %13s %13s", "image", "size", "bicubic_PSNR", "model_PSNR");
    if (o->ssim) std::printf(" %13s %13s", "bicubic_SSIM", "model_SSIM");
    std::printf("\n");
    double sum[4] = {0, 0, 0, 0};
    for (const auto& f : files) {
      const sr::PlaneU8 y = sr::read_luma(f.string());
      const sr::SrResult r = sr::evaluate_sr(y, model, opt, f.stem().string());
      const std::string size = str_cat(r.height, "x", r.width);
      std::printf("%-24s %11s %13.4f %13.4f", r.name.c_str(), size.c_str(), r.psnr_bicubic,
                  r.psnr_model);
      if (o->ssim) std::printf(" %13.4f %13.4f", r.ssim_bicubic, r.ssim_model);
      std::printf("\n");
      std::fflush(stdout);
      sum[0] += r.psnr_bicubic, sum[1] += r.psnr_model, sum[2] += r.ssim_bicubic,
          sum[3] += r.ssim_model;
    }
    const double n = static_cast<double>(files.size());
    std::printf("%-24s %11s %13.4f %13.4f", "mean", "", sum[0] / n, sum[1] / n);
    if (o->ssim) std::printf(" %13.4f %13.4f", sum[2] / n, sum[3] / n);
    std::printf("\n");
    std::printf("mean PSNR (dB): bicubic %.4f, model %.4f, gain %+.4f\n", sum[0] / n, sum[1] / n,
                (sum[1] - sum[0]) / n);
    if (o->ssim) std::printf("mean SSIM: bicubic %.4f, model %.4f\n", sum[2] / n, sum[3] / n);
  });
}

}  // namespace crema::cli
