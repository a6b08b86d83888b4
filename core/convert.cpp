#include "core/convert.h"

#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <vector>

// OpenCV's headers trip a C++20 deprecation warning that is not ours to fix.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-enum-enum-conversion"
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#pragma GCC diagnostic pop

#include "core/db.h"
#include "core/error.h"
#include "core/io.h"
#include "core/rng.h"
#include "proto/crema.pb.h"

namespace crema {
namespace fs = std::filesystem;

namespace {

constexpr uint32_t kIdxImagesMagic = 2051;  // 0x00000803: unsigned bytes, 3 dimensions
constexpr uint32_t kIdxLabelsMagic = 2049;  // 0x00000801: unsigned bytes, 1 dimension
constexpr int64_t kProgressEvery = 1000;

// Writes an LMDB beside the target and moves it into place only when complete, so a failed
// conversion never leaves a partial LMDB (or destroys the old one).
class StagedLmdb {
 public:
  StagedLmdb(const std::string& out, bool overwrite) {
    fs::path p(out);
    if (!p.has_filename()) p = p.parent_path();
    CREMA_CHECK_AS(ConfigError, !p.empty(), "convert: the output LMDB path is empty");
    out_ = p;
    std::error_code ec;
    if (fs::exists(out_, ec) && !fs::is_directory(out_, ec))
      throw DataError(
          str_cat("cannot write LMDB ", out_.string(), ": it exists and is not a directory"));
    int64_t existing = -1;
    try {
      existing = LmdbReader::count_records(out_.string());
    } catch (const DataError& e) {
      if (!overwrite)
        throw DataError(str_cat(e.what(), "; refusing to overwrite it (pass --overwrite)"));
    }
    if (existing > 0 && !overwrite)
      throw DataError(str_cat("LMDB ", out_.string(), " already holds ", existing,
                              " records; refusing to overwrite it (pass --overwrite, or choose "
                              "another output path)"));
    staging_ = out_;
    staging_ += str_cat(".partial-", ::getpid());
    fs::remove_all(staging_, ec);
    writer_ = std::make_unique<LmdbWriter>(staging_.string());
  }

  ~StagedLmdb() {
    writer_.reset();
    if (!published_) {
      std::error_code ec;
      fs::remove_all(staging_, ec);
    }
  }

  LmdbWriter& writer() { return *writer_; }

  void publish() {
    writer_->commit();
    writer_.reset();  // closes the environment before its files move
    std::error_code ec;
    if (!fs::exists(out_, ec)) {
      fs::rename(staging_, out_, ec);
    } else {
      fs::rename(staging_ / "data.mdb", out_ / "data.mdb", ec);
      if (!ec) {
        fs::remove(out_ / "lock.mdb", ec);
        ec.clear();
        fs::remove_all(staging_, ec);
        ec.clear();
      }
    }
    if (ec)
      throw DataError(str_cat("cannot move the converted LMDB ", staging_.string(), " to ",
                              out_.string(), ": ", ec.message()));
    published_ = true;
  }

 private:
  fs::path out_, staging_;
  std::unique_ptr<LmdbWriter> writer_;
  bool published_ = false;
};

// A file read through zlib, which reads gzip and plain files alike.
class GzReader {
 public:
  explicit GzReader(const std::string& path) : path_(path) {
    if (!file_exists(path)) throw DataError(str_cat("IDX file not found: ", path));
    file_ = gzopen(path.c_str(), "rb");
    if (!file_) throw DataError(str_cat("cannot open IDX file ", path));
  }
  ~GzReader() { gzclose(file_); }
  GzReader(const GzReader&) = delete;
  GzReader& operator=(const GzReader&) = delete;

  // Reads up to n bytes; fewer only at the end of the data. A corrupt gzip stream throws.
  size_t read(void* buf, size_t n) {
    size_t done = 0;
    while (done < n) {
      const unsigned chunk = static_cast<unsigned>(std::min<size_t>(n - done, 1u << 30));
      const int got = gzread(file_, static_cast<char*>(buf) + done, chunk);
      if (got < 0) {
        int errnum = 0;
        const char* msg = gzerror(file_, &errnum);
        throw DataError(str_cat("IDX file ", path_, " is corrupt: ", msg ? msg : "gzip error"));
      }
      if (got == 0) break;
      done += static_cast<size_t>(got);
    }
    return done;
  }

  uint32_t read_be32(const char* what) {
    unsigned char b[4];
    if (read(b, 4) != 4)
      throw DataError(
          str_cat("IDX file ", path_, " is truncated: it ends inside the header (", what, ")"));
    return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
  }

  const std::string& path() const { return path_; }

 private:
  std::string path_;
  gzFile file_ = nullptr;
};

void check_magic(GzReader& f, uint32_t want, const char* kind) {
  const uint32_t magic = f.read_be32("magic number");
  if (magic == want) return;
  std::string hint = "; is it an IDX file (e.g. MNIST's train-images-idx3-ubyte[.gz])?";
  if (magic == kIdxImagesMagic || magic == kIdxLabelsMagic)
    hint = "; are images and labels swapped?";
  throw DataError(str_cat("IDX file ", f.path(), ": magic number ", magic, " is not that of ", kind,
                          " (expected ", want, ")", hint));
}

void report(const ConvertProgress& progress, int64_t done, int64_t total) {
  if (progress && (done % kProgressEvery == 0 || done == total)) progress(done, total);
}

std::string record_key(int64_t index, const std::string& suffix = {}) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%08lld", static_cast<long long>(index));
  return suffix.empty() ? std::string(buf) : str_cat(buf, "_", suffix);
}

std::string trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

struct ListEntry {
  std::string path;
  int label = 0;
  int line = 0;
};

std::vector<ListEntry> read_list(const std::string& list_file) {
  const std::string text = read_file(list_file);
  std::vector<ListEntry> entries;
  size_t start = 0;
  for (int line = 1; start < text.size(); ++line) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const std::string s = trim(text.substr(start, end - start));
    start = end + 1;
    if (s.empty()) continue;
    const size_t sep = s.find_last_of(" \t");
    ListEntry e;
    e.line = line;
    const char* lbl = sep == std::string::npos ? nullptr : s.data() + sep + 1;
    const char* lbl_end = s.data() + s.size();
    const auto [p, ec] = lbl ? std::from_chars(lbl, lbl_end, e.label)
                             : std::from_chars_result{nullptr, std::errc::invalid_argument};
    if (ec != std::errc() || p != lbl_end)
      throw DataError(str_cat(list_file, ":", line,
                              ": expected '<relative/path> <integer label>', "
                              "got '",
                              s, "'"));
    e.path = trim(s.substr(0, sep));
    entries.push_back(std::move(e));
  }
  if (entries.empty()) throw DataError(str_cat(list_file, ": the image list has no entries"));
  return entries;
}

// The extension imencode should use to re-encode an image read from `path`.
std::string encode_extension(const std::string& path) {
  std::string ext = fs::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return (ext == ".jpg" || ext == ".jpeg" || ext == ".png" || ext == ".bmp") ? ext : ".png";
}

}  // namespace

int64_t convert_idx(const std::string& images_path, const std::string& labels_path,
                    const std::string& out_lmdb, bool overwrite, const ConvertProgress& progress) {
  GzReader images(images_path), labels(labels_path);
  check_magic(images, kIdxImagesMagic, "IDX images");
  check_magic(labels, kIdxLabelsMagic, "IDX labels");
  const uint32_t count = images.read_be32("image count");
  const uint32_t rows = images.read_be32("rows");
  const uint32_t cols = images.read_be32("cols");
  const uint32_t label_count = labels.read_be32("label count");
  CREMA_CHECK_AS(DataError, count == label_count, "IDX files disagree: ", images_path, " holds ",
                 count, " images but ", labels_path, " holds ", label_count, " labels");
  CREMA_CHECK_AS(DataError, count > 0, "IDX file ", images_path, " holds no images");
  CREMA_CHECK_AS(DataError, rows > 0 && cols > 0 && rows <= 65536 && cols <= 65536, "IDX file ",
                 images_path, ": implausible image size ", rows, "x", cols, " (corrupt header?)");

  std::string label_bytes(count, '\0');
  const size_t got_labels = labels.read(label_bytes.data(), count);
  CREMA_CHECK_AS(DataError, got_labels == count, "IDX file ", labels_path,
                 " is truncated: it holds ", got_labels, " of its ", count, " labels");

  StagedLmdb out(out_lmdb, overwrite);
  const size_t pixels = static_cast<size_t>(rows) * cols;
  Datum datum;
  datum.set_channels(1);
  datum.set_height(static_cast<int>(rows));
  datum.set_width(static_cast<int>(cols));
  std::string image(pixels, '\0'), value;
  for (int64_t i = 0; i < count; ++i) {
    const size_t got = images.read(image.data(), pixels);
    CREMA_CHECK_AS(DataError, got == pixels, "IDX file ", images_path, " is truncated: image ", i,
                   " of ", count, " ends after ", got, " of ", pixels, " bytes");
    datum.set_data(image);
    datum.set_label(static_cast<unsigned char>(label_bytes[i]));
    datum.SerializeToString(&value);
    out.writer().put(record_key(i), value);
    report(progress, i + 1, count);
  }
  out.publish();
  return count;
}

int64_t convert_image_list(const std::string& root_dir, const std::string& list_file,
                           const std::string& out_lmdb, int resize_h, int resize_w, bool gray,
                           bool encoded, bool shuffle, uint64_t seed, bool overwrite,
                           const ConvertProgress& progress) {
  CREMA_CHECK_AS(ConfigError, resize_h >= 0 && resize_w >= 0 && (resize_h > 0) == (resize_w > 0),
                 "convert: give both resize height and width (or neither), got ", resize_h, "x",
                 resize_w);
  const bool resize = resize_h > 0;
  std::vector<ListEntry> entries = read_list(list_file);
  if (shuffle) {
    const uint64_t stream = rng::hash_name("convert_image_list");
    for (size_t i = entries.size() - 1; i > 0; --i)
      std::swap(entries[i], entries[rng::bits(seed, stream, i) % (i + 1)]);
  }

  StagedLmdb out(out_lmdb, overwrite);
  const int64_t total = static_cast<int64_t>(entries.size());
  const int flags = gray ? cv::IMREAD_GRAYSCALE : cv::IMREAD_COLOR;
  std::string value;
  for (int64_t i = 0; i < total; ++i) {
    const ListEntry& e = entries[i];
    const fs::path full = root_dir.empty() ? fs::path(e.path) : fs::path(root_dir) / e.path;
    auto fail = [&](const char* why) {
      return DataError(
          str_cat(list_file, ":", e.line, ": cannot read image ", full.string(), " (", why, ")"));
    };
    std::error_code ec;
    if (!fs::is_regular_file(full, ec)) throw fail("file not found");
    std::string bytes;
    try {
      bytes = read_file(full.string());
    } catch (const DataError& err) {
      throw fail(err.what());
    }
    const cv::Mat buf(1, static_cast<int>(bytes.size()), CV_8UC1, const_cast<char*>(bytes.data()));
    cv::Mat img = cv::imdecode(buf, flags);
    if (img.empty()) throw fail("not an image OpenCV can decode");
    if (resize) cv::resize(img, img, cv::Size(resize_w, resize_h));

    Datum datum;
    datum.set_label(e.label);
    datum.set_channels(img.channels());
    datum.set_height(img.rows);
    datum.set_width(img.cols);
    if (encoded) {
      datum.set_encoded(true);
      // The file's own bytes serve when they decode to the requested channels at full size.
      const bool native =
          !resize && cv::imdecode(buf, cv::IMREAD_ANYCOLOR).channels() == img.channels();
      if (native) {
        datum.set_data(bytes);
      } else {
        std::vector<uchar> enc;
        if (!cv::imencode(encode_extension(e.path), img, enc)) throw fail("cannot re-encode it");
        datum.set_data(enc.data(), enc.size());
      }
    } else {
      // OpenCV's interleaved HWC (BGR) -> Caffe's planar CHW.
      const int c = img.channels(), h = img.rows, w = img.cols;
      std::string chw(static_cast<size_t>(c) * h * w, '\0');
      for (int y = 0; y < h; ++y) {
        const uchar* row = img.ptr<uchar>(y);
        for (int x = 0; x < w; ++x)
          for (int k = 0; k < c; ++k)
            chw[(static_cast<size_t>(k) * h + y) * w + x] = static_cast<char>(row[x * c + k]);
      }
      datum.set_data(std::move(chw));
    }
    datum.SerializeToString(&value);
    out.writer().put(record_key(i, e.path), value);
    report(progress, i + 1, total);
  }
  out.publish();
  return total;
}

}  // namespace crema
