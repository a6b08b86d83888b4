#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "core/convert.h"
#include "core/data_transformer.h"
#include "core/db.h"
#include "core/error.h"
#include "core/io.h"
#include "tests/data_test_util.h"

namespace crema {
namespace {

using test::TempDir;

std::string be32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}

// An uncompressed IDX pair of n images (rows x cols, pixel = i + y + x) and labels (i % 10 + k).
void write_idx(const std::string& images, const std::string& labels, uint32_t n, uint32_t rows,
               uint32_t cols, int label_offset = 0, uint32_t label_count = ~0u) {
  std::string img = be32(2051) + be32(n) + be32(rows) + be32(cols);
  for (uint32_t i = 0; i < n; ++i)
    for (uint32_t y = 0; y < rows; ++y)
      for (uint32_t x = 0; x < cols; ++x) img.push_back(static_cast<char>(i + y + x));
  if (label_count == ~0u) label_count = n;
  std::string lbl = be32(2049) + be32(label_count);
  for (uint32_t i = 0; i < label_count; ++i)
    lbl.push_back(static_cast<char>(i % 10 + label_offset));
  write_file_atomic(images, img);
  write_file_atomic(labels, lbl);
}

Datum datum_at(const LmdbReader& r, int64_t k) {
  Datum d;
  EXPECT_TRUE(d.ParseFromString(r.value(k)));
  return d;
}

// Nothing but the listed entries is left in dir (no staging directories).
void expect_dir_holds(const TempDir& dir, std::set<std::string> names) {
  std::set<std::string> got;
  for (const auto& e : std::filesystem::directory_iterator(dir.path()))
    got.insert(e.path().filename().string());
  EXPECT_EQ(got, names);
}

TEST(ConvertIdx, MnistT10kMatchesIdxBytes) {
  TempDir dir;
  const std::string out = dir / "lmdb";
  std::vector<std::pair<int64_t, int64_t>> calls;
  const int64_t n = convert_idx(test::mnist_file("t10k-images-idx3-ubyte.gz"),
                                test::mnist_file("t10k-labels-idx1-ubyte.gz"), out, false,
                                [&](int64_t done, int64_t total) {
                                  calls.push_back({done, total});
                                });
  EXPECT_EQ(n, 10000);
  ASSERT_FALSE(calls.empty());
  EXPECT_EQ(calls.back(), (std::pair<int64_t, int64_t>{10000, 10000}));
  for (size_t i = 1; i < calls.size(); ++i) EXPECT_LT(calls[i - 1].first, calls[i].first);

  const test::MnistBytes& idx = test::t10k_bytes();
  ASSERT_EQ(idx.images.size(), 16u + 10000u * 784u);
  LmdbReader reader(out);
  ASSERT_EQ(reader.size(), 10000);
  EXPECT_EQ(reader.key(0), "00000000");
  EXPECT_EQ(reader.key(9999), "00009999");
  const Datum first = datum_at(reader, 0);
  EXPECT_EQ(first.label(), 7);
  EXPECT_EQ(first.channels(), 1);
  EXPECT_EQ(first.height(), 28);
  EXPECT_EQ(first.width(), 28);
  EXPECT_FALSE(first.encoded());
  ASSERT_EQ(first.data().size(), 784u);
  int64_t sum = 0, want = 0;
  for (int i = 0; i < 784; ++i) {
    sum += static_cast<unsigned char>(first.data()[i]);
    want += idx.image(0)[i];
  }
  EXPECT_EQ(sum, want);
  EXPECT_GT(sum, 0);
  // Every record: label and pixels equal the IDX bytes.
  int mismatches = 0;
  for (int64_t k = 0; k < 10000; ++k) {
    const Datum d = datum_at(reader, k);
    if (d.label() != idx.label(k) ||
        d.data() != std::string(reinterpret_cast<const char*>(idx.image(k)), 784))
      ++mismatches;
  }
  EXPECT_EQ(mismatches, 0);
  expect_dir_holds(dir, {"lmdb"});
}

TEST(ConvertIdx, PlainFilesAndOverwrite) {
  TempDir dir;
  const std::string img = dir / "img", lbl = dir / "lbl", out = dir / "out";
  write_idx(img, lbl, 5, 2, 3);
  EXPECT_EQ(convert_idx(img, lbl, out), 5);
  {
    LmdbReader r(out);
    ASSERT_EQ(r.size(), 5);
    const Datum d = datum_at(r, 4);
    EXPECT_EQ(d.label(), 4);
    EXPECT_EQ(d.height(), 2);
    EXPECT_EQ(d.width(), 3);
    EXPECT_EQ(static_cast<unsigned char>(d.data()[5]), 4 + 1 + 2);
  }
  write_idx(img, lbl, 3, 2, 3, /*label_offset=*/100);
  try {
    convert_idx(img, lbl, out);
    ADD_FAILURE() << "expected a DataError";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("already holds 5 records"), std::string::npos) << e.what();
  }
  EXPECT_EQ(LmdbReader(out).size(), 5);  // untouched
  EXPECT_EQ(convert_idx(img, lbl, out, /*overwrite=*/true), 3);
  LmdbReader r(out);
  ASSERT_EQ(r.size(), 3);
  EXPECT_EQ(datum_at(r, 0).label(), 100);
  expect_dir_holds(dir, {"img", "lbl", "out"});
}

void expect_data_error(const std::function<void()>& f, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "expected a DataError containing '" << needle << "'";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(ConvertIdx, TruncatedFilesAreDataErrors) {
  TempDir dir;
  const std::string img = dir / "img", lbl = dir / "lbl", out = dir / "out";
  write_idx(img, lbl, 5, 4, 4);
  std::string bytes = read_file(img);
  write_file_atomic(img, bytes.substr(0, bytes.size() - 10));
  expect_data_error([&] { convert_idx(img, lbl, out); }, "truncated: image 4 of 5");
  write_file_atomic(img, bytes.substr(0, 10));
  expect_data_error([&] { convert_idx(img, lbl, out); }, "truncated");
  write_file_atomic(img, bytes);
  const std::string lbytes = read_file(lbl);
  write_file_atomic(lbl, lbytes.substr(0, lbytes.size() - 1));
  expect_data_error([&] { convert_idx(img, lbl, out); }, "4 of its 5 labels");
  // A gzip file cut in the middle.
  const std::string gz = read_file(test::mnist_file("t10k-images-idx3-ubyte.gz"));
  write_file_atomic(dir / "cut.gz", gz.substr(0, gz.size() / 2));
  expect_data_error(
      [&] { convert_idx(dir / "cut.gz", test::mnist_file("t10k-labels-idx1-ubyte.gz"), out); },
      "cut.gz is truncated");
  EXPECT_FALSE(std::filesystem::exists(out));
  expect_dir_holds(dir, {"img", "lbl", "cut.gz"});
}

TEST(ConvertIdx, BadMagicCountsAndMissingFiles) {
  TempDir dir;
  const std::string img = dir / "img", lbl = dir / "lbl", out = dir / "out";
  write_idx(img, lbl, 5, 4, 4);
  expect_data_error([&] { convert_idx(lbl, img, out); }, "swapped");
  write_file_atomic(dir / "text", "hello, this is not an IDX file\n");
  expect_data_error([&] { convert_idx(dir / "text", lbl, out); }, "magic number");
  write_idx(img, lbl, 5, 4, 4, 0, /*label_count=*/4);
  expect_data_error([&] { convert_idx(img, lbl, out); }, "holds 5 images but");
  expect_data_error([&] { convert_idx(dir / "nope", lbl, out); }, "IDX file not found");
  EXPECT_FALSE(std::filesystem::exists(out));
}

// The sample PNGs are pixel-identical to the t10k images at the index in their name.
struct Sample {
  std::string file;
  int index, label;
};
const std::vector<Sample> kSamples = {
    {"img_7_0.png", 0, 7}, {"img_2_1.png", 1, 2}, {"img_1_2.png", 2, 1}, {"img_0_3.png", 3, 0}};

std::string samples_dir() { return test::shared_data_dir() + "/lenet_caffe/samples"; }

std::string write_list(const TempDir& dir, const std::vector<std::string>& lines) {
  std::string text;
  for (const auto& l : lines) text += l + "\n";
  write_file_atomic(dir / "list.txt", text);
  return dir / "list.txt";
}

std::vector<std::string> sample_lines() {
  std::vector<std::string> lines;
  for (const auto& s : kSamples) lines.push_back(s.file + " " + std::to_string(s.label));
  return lines;
}

TEST(ConvertImageList, GrayRawMatchesMnist) {
  TempDir dir;
  const std::string list = write_list(dir, sample_lines());
  EXPECT_EQ(convert_image_list(samples_dir(), list, dir / "out", 0, 0, /*gray=*/true,
                               /*encoded=*/false, /*shuffle=*/false, 1),
            4);
  LmdbReader r(dir / "out");
  ASSERT_EQ(r.size(), 4);
  const test::MnistBytes& idx = test::t10k_bytes();
  for (int k = 0; k < 4; ++k) {
    EXPECT_EQ(r.key(k), "0000000" + std::to_string(k) + "_" + kSamples[k].file);
    const Datum d = datum_at(r, k);
    EXPECT_EQ(d.label(), kSamples[k].label);
    EXPECT_EQ(d.channels(), 1);
    EXPECT_EQ(d.height(), 28);
    EXPECT_EQ(d.width(), 28);
    EXPECT_EQ(d.data(),
              std::string(reinterpret_cast<const char*>(idx.image(kSamples[k].index)), 784))
        << kSamples[k].file;
  }
}

TEST(ConvertImageList, ColourResizeEncodedAndShuffle) {
  TempDir dir;
  const std::string list = write_list(dir, sample_lines());
  const test::MnistBytes& idx = test::t10k_bytes();
  // Colour: three equal BGR planes of the grey digit.
  convert_image_list(samples_dir(), list, dir / "colour", 0, 0, false, false, false, 1);
  {
    LmdbReader r(dir / "colour");
    const Datum d = datum_at(r, 1);
    ASSERT_EQ(d.channels(), 3);
    ASSERT_EQ(d.data().size(), 3u * 784u);
    const std::string grey(reinterpret_cast<const char*>(idx.image(1)), 784);
    for (int c = 0; c < 3; ++c) EXPECT_EQ(d.data().substr(c * 784, 784), grey) << "plane " << c;
  }
  // Resized.
  convert_image_list(samples_dir(), list, dir / "small", 14, 12, true, false, false, 1);
  {
    const Datum d = datum_at(LmdbReader(dir / "small"), 0);
    EXPECT_EQ(d.height(), 14);
    EXPECT_EQ(d.width(), 12);
    EXPECT_EQ(d.data().size(), 14u * 12u);
  }
  // Encoded: the stored bytes decode to the raw pixels.
  convert_image_list(samples_dir(), list, dir / "enc", 0, 0, true, true, false, 1);
  {
    LmdbReader r(dir / "enc");
    DataTransformer<float> t(TransformationParameter(), TEST, 1, 2);
    for (int k = 0; k < 4; ++k) {
      const Datum d = datum_at(r, k);
      EXPECT_TRUE(d.encoded());
      const DatumImage img = t.image(d);
      ASSERT_EQ(img.channels * img.height * img.width, 784);
      EXPECT_EQ(std::string(reinterpret_cast<const char*>(img.bytes), 784),
                std::string(reinterpret_cast<const char*>(idx.image(kSamples[k].index)), 784));
    }
  }
  // Shuffled: the same records under a seed-determined order.
  auto keys = [&](const std::string& name, uint64_t seed) {
    convert_image_list(samples_dir(), list, dir / name, 0, 0, true, false, true, seed);
    LmdbReader r(dir / name);
    std::vector<std::string> k;
    for (int64_t i = 0; i < r.size(); ++i) k.emplace_back(r.key(i).substr(9));
    return k;
  };
  const auto a = keys("s1", 3), b = keys("s2", 3);
  EXPECT_EQ(a, b);
  std::vector<std::vector<std::string>> orders;
  for (uint64_t seed = 10; seed < 16; ++seed)
    orders.push_back(keys("t" + std::to_string(seed), seed));
  std::set<std::vector<std::string>> distinct(orders.begin(), orders.end());
  EXPECT_GT(distinct.size(), 1u);
  for (const auto& o : orders)
    EXPECT_EQ(std::set<std::string>(o.begin(), o.end()),
              (std::set<std::string>{"img_7_0.png", "img_2_1.png", "img_1_2.png", "img_0_3.png"}));
}

TEST(ConvertImageList, ErrorsNameTheListLine) {
  TempDir dir;
  auto lines = sample_lines();
  lines.insert(lines.begin() + 1, "");  // blank lines are skipped but counted
  lines.insert(lines.begin() + 2, "missing_digit.png 3");
  const std::string list = write_list(dir, lines);
  expect_data_error(
      [&] { convert_image_list(samples_dir(), list, dir / "out", 0, 0, true, false, false, 1); },
      "list.txt:3: cannot read image");
  expect_data_error(
      [&] { convert_image_list(samples_dir(), list, dir / "out", 0, 0, true, false, false, 1); },
      "missing_digit.png (file not found)");
  write_list(dir, {"img_7_0.png 7", "img_2_1.png two"});
  expect_data_error(
      [&] { convert_image_list(samples_dir(), list, dir / "out", 0, 0, true, false, false, 1); },
      "list.txt:2: expected");
  write_list(dir, {samples_dir() + "/img_7_0.png 7", "list.txt 1"});  // absolute paths work
  expect_data_error(
      [&] {
        convert_image_list(dir.path().string(), list, dir / "out", 0, 0, true, false, false, 1);
      },
      "list.txt:2: cannot read image");
  EXPECT_THROW(convert_image_list(samples_dir(), list, dir / "out", 10, 0, true, false, false, 1),
               ConfigError);
  EXPECT_FALSE(std::filesystem::exists(dir / "out"));
  expect_data_error(
      [&] {
        convert_image_list(samples_dir(), dir / "no_list.txt", dir / "out", 0, 0, true, false,
                           false, 1);
      },
      "not found");
}

}  // namespace
}  // namespace crema
