// crema convert: IDX (MNIST / Fashion-MNIST) files, or an image folder with a list file, into an
// LMDB of Caffe Datum records, with a progress bar.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>

#include "core/convert.h"
#include "core/error.h"
#include "tools/commands.h"

namespace crema::cli {
namespace {

// Redraws one line on a terminal; prints every 10% otherwise (logs stay readable).
ConvertProgress progress_bar(const std::string& what) {
  const bool tty = isatty(fileno(stderr));
  auto start = std::chrono::steady_clock::now();
  auto last_decile = std::make_shared<int64_t>(-1);
  return [=](int64_t done, int64_t total) {
    const double frac = total > 0 ? static_cast<double>(done) / total : 1.0;
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double rate = secs > 0 ? done / secs : 0;
    if (tty) {
      const int width = 30, filled = static_cast<int>(frac * width);
      std::fprintf(stderr, "\r%s [%s%s] %3d%% %lld/%lld (%.0f/s)", what.c_str(),
                   std::string(filled, '#').c_str(), std::string(width - filled, ' ').c_str(),
                   static_cast<int>(frac * 100), static_cast<long long>(done),
                   static_cast<long long>(total), rate);
      if (done == total) std::fprintf(stderr, "\n");
    } else {
      const int64_t decile = static_cast<int64_t>(frac * 10);
      if (decile != *last_decile) {
        *last_decile = decile;
        std::fprintf(stderr, "%s: %lld/%lld (%d%%)\n", what.c_str(),
                     static_cast<long long>(done), static_cast<long long>(total),
                     static_cast<int>(frac * 100));
      }
    }
  };
}

}  // namespace

void register_convert(CLI::App& app) {
  struct Opts {
    std::string idx_images, idx_labels, images, list, output, resize;
    bool gray = false, encoded = false, shuffle = false, overwrite = false;
    uint64_t seed = 1701;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = app.add_subcommand(
      "convert", "Convert IDX files (MNIST, Fashion-MNIST) or an image list into an LMDB");
  auto* ii = cmd->add_option("--idx-images", o->idx_images, "IDX images file (.gz or raw)");
  auto* il = cmd->add_option("--idx-labels", o->idx_labels, "IDX labels file (.gz or raw)");
  auto* im = cmd->add_option("--images", o->images, "Root folder of the images in --list");
  auto* ls = cmd->add_option("--list", o->list, "List file: lines 'relative/path label'");
  ii->needs(il);
  il->needs(ii);
  im->needs(ls);
  ls->needs(im);
  ii->excludes(im);
  cmd->add_option("--output", o->output, "LMDB directory to create")->required();
  cmd->add_option("--resize", o->resize, "HxW to resize images to (e.g. 256x256)");
  cmd->add_flag("--gray", o->gray, "Read images as grey");
  cmd->add_flag("--encoded", o->encoded, "Store encoded image bytes instead of raw pixels");
  cmd->add_flag("--shuffle", o->shuffle, "Shuffle the list (with --seed) before writing");
  cmd->add_option("--seed", o->seed, "Seed for --shuffle");
  cmd->add_flag("--overwrite", o->overwrite, "Replace an existing LMDB");
  cmd->callback([o, cmd] {
    int64_t n = 0;
    if (!o->idx_images.empty()) {
      n = convert_idx(o->idx_images, o->idx_labels, o->output, o->overwrite,
                      progress_bar("converting " + o->idx_images));
    } else if (!o->images.empty()) {
      int h = 0, w = 0;
      if (!o->resize.empty() && (std::sscanf(o->resize.c_str(), "%dx%d", &h, &w) != 2 || h <= 0 ||
                                 w <= 0))
        throw ConfigError(str_cat("--resize expects HxW with positive sizes, got '", o->resize,
                                  "'"));
      n = convert_image_list(o->images, o->list, o->output, h, w, o->gray, o->encoded, o->shuffle,
                             o->seed, o->overwrite, progress_bar("converting " + o->list));
    } else {
      throw ConfigError(str_cat("convert needs --idx-images/--idx-labels or --images/--list\n",
                                cmd->help()));
    }
    std::printf("wrote %lld records to %s\n", static_cast<long long>(n), o->output.c_str());
  });
}

}  // namespace crema::cli
