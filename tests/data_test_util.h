/// Helpers for the data-path tests: temporary directories, the shared MNIST files, small LMDBs.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "core/convert.h"
#include "tests/test_util.h"
#include "core/db.h"
#include "proto/crema.pb.h"

namespace crema::test {

/// A fresh directory under the system temp dir, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("crema_data_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

/// The shared data directory: $CREMA_SHARED_DATA, else <source>/../shared/data.
inline std::string mnist_file(const std::string& name) {
  return shared_data_dir() + "/mnist/" + name;
}

/// The decompressed bytes of a (gzip) file, read independently of the converter.
inline std::string gunzip_file(const std::string& path) {
  std::string out;
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) return out;
  char buf[1 << 16];
  int n;
  while ((n = gzread(f, buf, sizeof buf)) > 0) out.append(buf, n);
  gzclose(f);
  return out;
}

/// t10k converted once per test run (shared by the tests that only read it).
inline const std::string& t10k_lmdb() {
  static TempDir dir;
  static const std::string path = [] {
    const std::string p = dir / "t10k_lmdb";
    convert_idx(mnist_file("t10k-images-idx3-ubyte.gz"), mnist_file("t10k-labels-idx1-ubyte.gz"),
                p);
    return p;
  }();
  return path;
}

/// The t10k IDX files, decompressed: images (16-byte header) and labels (8-byte header).
struct MnistBytes {
  std::string images, labels;
  const unsigned char* image(int64_t i) const {
    return reinterpret_cast<const unsigned char*>(images.data()) + 16 + i * 784;
  }
  int label(int64_t i) const { return static_cast<unsigned char>(labels[8 + i]); }
};
inline const MnistBytes& t10k_bytes() {
  static const MnistBytes b{gunzip_file(mnist_file("t10k-images-idx3-ubyte.gz")),
                            gunzip_file(mnist_file("t10k-labels-idx1-ubyte.gz"))};
  return b;
}

/// Writes n raw uint8 Datums of shape c x h x w, label i, pixel (i, c, h, w) -> make(i, c, h, w),
/// with keys "%08d".
inline void write_synthetic_lmdb(const std::string& path, int n, int c, int h, int w,
                                 const std::function<int(int, int, int, int)>& make) {
  LmdbWriter writer(path, {.overwrite = false, .commit_every = 7});
  for (int i = 0; i < n; ++i) {
    Datum d;
    d.set_channels(c), d.set_height(h), d.set_width(w), d.set_label(i);
    std::string px(static_cast<size_t>(c) * h * w, '\0');
    for (int k = 0; k < c; ++k)
      for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) px[(k * h + y) * w + x] = static_cast<char>(make(i, k, y, x));
    d.set_data(px);
    char key[16];
    std::snprintf(key, sizeof key, "%08d", i);
    writer.put(key, d.SerializeAsString());
  }
  writer.commit();
}

}  // namespace crema::test
