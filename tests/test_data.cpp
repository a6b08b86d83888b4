#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <set>

#include "core/db.h"
#include "core/io.h"
#include "ops/data_layer.h"
#include "tests/data_test_util.h"
#include "tests/reference/data_transform_ref.h"
#include "tests/test_util.h"

namespace crema {
namespace {

using test::TempDir;

// The synthetic records: label i, pixel values unique within a record (3 x 6 x 7 at most).
int pixel(int i, int c, int h, int w) { return (i * 31 + c * 50 + h * 7 + w) % 256; }

std::vector<uint8_t> synthetic_image(int i, int c, int h, int w) {
  std::vector<uint8_t> img(static_cast<size_t>(c) * h * w);
  for (int k = 0; k < c; ++k)
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x)
        img[(k * h + y) * w + x] = static_cast<uint8_t>(pixel(i, k, y, x));
  return img;
}

std::string layer_text(const std::string& source, int batch, const char* phase,
                       const std::string& data_extra = "", const std::string& transform = "") {
  return str_cat("name: 'data' type: 'Data' top: 'data' top: 'label' phase: ", phase,
                 " data_param { source: '", source, "' batch_size: ", batch, " backend: LMDB ",
                 data_extra, " } transform_param { ", transform, " }");
}

// A Data layer with its two tops; next() runs one forward and returns the batch.
template <class T = float>
struct Reader {
  Reader(const std::string& text, Context c) : ctx(c) {
    layer = test::make_layer<T>(text, ctx, {}, top);
  }
  struct Batch {
    std::vector<T> data, label;
    bool operator==(const Batch&) const = default;
  };
  Batch next() {
    layer->forward(ctx, {}, top);
    return {std::vector<T>(data.cpu_data(), data.cpu_data() + data.count()),
            std::vector<T>(label.cpu_data(), label.cpu_data() + label.count())};
  }
  std::vector<Batch> next(int n) {
    std::vector<Batch> out;
    for (int i = 0; i < n; ++i) out.push_back(next());
    return out;
  }
  DataLayer<T>& data_layer() { return dynamic_cast<DataLayer<T>&>(*layer); }

  Context ctx;
  Tensor<T> data, label;
  TensorVec<T> top{&data, &label};
  std::unique_ptr<Layer<T>> layer;
};

template <class F>
void expect_error_containing(F&& f, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "expected an error containing '" << needle << "'";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(Lmdb, WriterGrowsMapAndReaderReadsByIndex) {
  TempDir dir;
  const std::string path = dir / "db";
  uint64_t initial = 0;
  {
    LmdbWriter w(path, {.overwrite = false, .commit_every = 50, .map_size = 64 << 10});
    initial = w.map_size();
    // Keys written out of order; LMDB keeps them sorted.
    for (int i = 199; i >= 0; --i) {
      char key[16];
      std::snprintf(key, sizeof key, "k%04d", i);
      w.put(key, std::string(1000, static_cast<char>(i)));
    }
    w.commit();
    EXPECT_EQ(w.committed(), 200);
    EXPECT_GE(w.map_size(), 4 * initial);  // 200 KB of values needed at least two doublings
  }
  LmdbReader r(path);
  ASSERT_EQ(r.size(), 200);
  EXPECT_EQ(r.key(0), "k0000");
  EXPECT_EQ(r.key(199), "k0199");
  EXPECT_EQ(r.value(123), std::string(1000, static_cast<char>(123)));
  std::vector<std::string> vals;
  const int64_t idx[] = {5, 0, 199, 5};
  r.values(idx, 4, &vals);
  ASSERT_EQ(vals.size(), 4u);
  EXPECT_EQ(vals[0][0], 5);
  EXPECT_EQ(vals[2][0], static_cast<char>(199));
  EXPECT_EQ(vals[3], vals[0]);
  EXPECT_EQ(LmdbReader::count_records(path), 200);
  // The data file itself opens too (MDB_NOSUBDIR).
  EXPECT_EQ(LmdbReader((std::filesystem::path(path) / "data.mdb").string()).size(), 200);
}

TEST(Lmdb, OpenErrorsAreClear) {
  TempDir dir;
  expect_error_containing([&] { LmdbReader r(dir / "missing"); },
                          "LMDB not found: " + (dir / "missing"));
  expect_error_containing([&] { LmdbReader r(dir.path().string()); }, "without data.mdb");
  EXPECT_EQ(LmdbReader::count_records(dir / "missing"), -1);
  std::filesystem::create_directories(dir / "junk");
  write_file_atomic(dir / "junk/data.mdb", std::string(20000, 'x'));
  expect_error_containing([&] { LmdbReader r(dir / "junk"); }, "is not an LMDB");
  { LmdbWriter w(dir / "empty"); }
  expect_error_containing([&] { LmdbReader r(dir / "empty"); }, "has no records");
  EXPECT_EQ(LmdbReader(dir / "empty", /*allow_empty=*/true).size(), 0);
  EXPECT_THROW(LmdbReader(dir / "missing"), DataError);
}

TEST(Lmdb, WriterRefusesExistingRecordsUnlessOverwrite) {
  TempDir dir;
  const std::string path = dir / "db";
  {
    LmdbWriter w(path);
    w.put("a", "1");
    w.put("b", "2");
    w.commit();
  }
  expect_error_containing([&] { LmdbWriter w(path); }, "already holds 2 records");
  {
    LmdbWriter w(path, {.overwrite = true});
    w.put("c", "3");
    w.commit();
  }
  LmdbReader r(path);
  ASSERT_EQ(r.size(), 1);
  EXPECT_EQ(r.key(0), "c");
  // Records not committed before destruction are discarded.
  {
    LmdbWriter w(path, {.overwrite = true});
    w.put("d", "4");
  }
  EXPECT_EQ(LmdbReader::count_records(path), 0);
}

TEST(DataLayer, TestOrderIsSequentialAcrossTheEpochBoundary) {
  const test::MnistBytes& idx = test::t10k_bytes();
  Reader<> r(layer_text(test::t10k_lmdb(), 64, "TEST", "", "scale: 0.00390625"), Context::cpu(1));
  EXPECT_EQ(r.data.shape(), (std::vector<int64_t>{64, 1, 28, 28}));
  EXPECT_EQ(r.label.shape(), (std::vector<int64_t>{64}));
  EXPECT_EQ(r.data_layer().num_records(), 10000);
  auto check = [&](const Reader<>::Batch& b, int64_t first_sample) {
    for (int j = 0; j < 64; ++j) {
      const int64_t rec = (first_sample + j) % 10000;
      EXPECT_EQ(b.label[j], idx.label(rec)) << "sample " << first_sample + j;
      for (int p = 0; p < 784; p += 13)
        EXPECT_EQ(b.data[j * 784 + p], idx.image(rec)[p] * 0.00390625f);
    }
  };
  check(r.next(), 0);
  check(r.next(), 64);
  // Batch 156 holds samples 9984..10047: records 9984..9999 then 0..47.
  r.layer->load_state("155");
  check(r.next(), 155 * 64);
  check(r.next(), 156 * 64);
  EXPECT_EQ(r.layer->save_state(), "157");
}

TEST(DataLayer, TrainOrderIsAPermutationPerEpoch) {
  TempDir dir;
  test::write_synthetic_lmdb(dir / "db", 37, 1, 2, 3, pixel);
  Reader<> r(layer_text(dir / "db", 5, "TRAIN"), Context::cpu(1));
  std::vector<int> seen;
  for (int b = 0; b < 23; ++b) {
    const auto batch = r.next();
    for (int j = 0; j < 5; ++j) {
      const int rec = static_cast<int>(batch.label[j]);
      seen.push_back(rec);
      EXPECT_EQ(r.data_layer().record_of(b, j), rec);
      EXPECT_EQ(batch.data[j * 6 + 4], pixel(rec, 0, 1, 1));  // the record's own pixels
    }
  }
  std::vector<std::vector<int>> epochs;
  for (int e = 0; e < 3; ++e) {
    std::vector<int> order(seen.begin() + 37 * e, seen.begin() + 37 * (e + 1));
    std::vector<int> sorted = order;
    std::sort(sorted.begin(), sorted.end());
    for (int i = 0; i < 37; ++i) ASSERT_EQ(sorted[i], i) << "epoch " << e;
    epochs.push_back(order);
  }
  EXPECT_NE(epochs[0], epochs[1]);
  EXPECT_NE(epochs[1], epochs[2]);
  std::vector<int> identity(37);
  for (int i = 0; i < 37; ++i) identity[i] = i;
  EXPECT_NE(epochs[0], identity);
  // shuffle: false keeps LMDB order in TRAIN too.
  Reader<> s(layer_text(dir / "db", 5, "TRAIN", "shuffle: false"), Context::cpu(1));
  s.next();
  const auto b = s.next();
  for (int j = 0; j < 5; ++j) EXPECT_EQ(b.label[j], 5 + j);
}

TEST(DataLayer, SeedDeterminesTheBatches) {
  TempDir dir;
  test::write_synthetic_lmdb(dir / "db", 37, 3, 6, 7, pixel);
  const std::string text = layer_text(dir / "db", 4, "TRAIN", "", "crop_size: 4 mirror: true");
  const auto a = Reader<>(text, Context::cpu(1, 5)).next(6);
  const auto b = Reader<>(text, Context::cpu(1, 5)).next(6);
  const auto c = Reader<>(text, Context::cpu(1, 6)).next(6);
  EXPECT_TRUE(a == b);
  EXPECT_FALSE(a == c);
  std::vector<float> la, lc;
  for (int i = 0; i < 6; ++i) {
    la.insert(la.end(), a[i].label.begin(), a[i].label.end());
    lc.insert(lc.end(), c[i].label.begin(), c[i].label.end());
  }
  EXPECT_NE(la, lc);  // the order differs, not only the crops
}

TEST(DataLayer, ResumeFromSavedStateContinuesExactly) {
  TempDir dir;
  test::write_synthetic_lmdb(dir / "db", 37, 3, 6, 7, pixel);
  const std::string text =
      layer_text(dir / "db", 5, "TRAIN", "prefetch: 2", "crop_size: 4 mirror: true scale: 0.5");
  Reader<> a(text, Context::cpu(1));
  a.next(6);
  const std::string state = a.layer->save_state();
  EXPECT_EQ(state, "6");
  const auto want = a.next(4);  // samples 30..49 cross the epoch boundary at 37

  Reader<> b(text, Context::cpu(1));
  b.layer->load_state(state);
  EXPECT_TRUE(b.next(4) == want);
  EXPECT_EQ(b.layer->save_state(), "10");
  // Loading mid-stream discards what was prefetched.
  Reader<> c(text, Context::cpu(1));
  c.next(2);
  c.layer->load_state(state);
  EXPECT_TRUE(c.next(4) == want);
  c.layer->load_state("");
  EXPECT_TRUE(c.next() == Reader<>(text, Context::cpu(1)).next());
}

TEST(DataLayer, TransformsMatchTheReference) {
  TempDir dir;
  test::write_synthetic_lmdb(dir / "db", 9, 3, 6, 7, pixel);
  auto expect_batch = [&](const Reader<>::Batch& b, int first, int crop, int h_off, int w_off,
                          const std::vector<double>& mean_pixel,
                          const std::vector<double>& mean_channel, double scale) {
    const int n = 3 * crop * crop;
    for (int j = 0; j < 3; ++j) {
      const auto want =
          reference::data_transform_ref(synthetic_image(first + j, 3, 6, 7), 3, 6, 7, crop, h_off,
                                        w_off, false, mean_pixel, mean_channel, scale);
      std::vector<float> got(b.data.begin() + j * n, b.data.begin() + (j + 1) * n);
      std::vector<double> g(got.begin(), got.end());
      test::expect_near(g.data(), want.data(), n, 1e-6, "transformed");
    }
  };
  // TEST: centred crop (offsets 1, 1 of a 6x7 image), one mean value for all channels, scale.
  Reader<> a(layer_text(dir / "db", 3, "TEST", "", "crop_size: 4 mean_value: 10 scale: 0.5"),
             Context::cpu(1));
  EXPECT_EQ(a.data.shape(), (std::vector<int64_t>{3, 3, 4, 4}));
  expect_batch(a.next(), 0, 4, 1, 1, {}, {10, 10, 10}, 0.5);
  // One mean value per channel; mirror does nothing in TEST.
  Reader<> b(layer_text(dir / "db", 3, "TEST", "",
                        "mean_value: 1 mean_value: 2 mean_value: 3 mirror: true"),
             Context::cpu(1));
  expect_batch(b.next(), 0, 0, 0, 0, {}, {1, 2, 3}, 1);
  // mean_file: a BlobProto of the uncropped size, subtracted at the source position.
  BlobProto mean;
  mean.set_num(1), mean.set_channels(3), mean.set_height(6), mean.set_width(7);
  std::vector<double> mean_pixel;
  for (int i = 0; i < 3 * 6 * 7; ++i) {
    mean_pixel.push_back(i * 0.25);
    mean.add_data(static_cast<float>(i * 0.25));
  }
  write_file_atomic(dir / "mean.binaryproto", mean.SerializeAsString());
  Reader<> c(layer_text(dir / "db", 3, "TEST", "",
                        "crop_size: 3 scale: 2 mean_file: '" + (dir / "mean.binaryproto") + "'"),
             Context::cpu(1));
  expect_batch(c.next(), 0, 3, 1, 2, mean_pixel, {}, 2);
  // Caffe's deprecated transformation fields of data_param still apply.
  Reader<> d(layer_text(dir / "db", 3, "TEST", "scale: 0.5 crop_size: 4", "mean_value: 10"),
             Context::cpu(1));
  expect_batch(d.next(), 0, 4, 1, 1, {}, {10, 10, 10}, 0.5);

  // TRAIN: each sample is exactly one of the crops (all offsets) with or without a flip, and
  // the draws vary.
  Reader<> t(layer_text(dir / "db", 8, "TRAIN", "", "crop_size: 4 mirror: true"), Context::cpu(1));
  std::set<int> h_offs, w_offs, flips;
  for (int bi = 0; bi < 5; ++bi) {
    const auto batch = t.next();
    for (int j = 0; j < 8; ++j) {
      const int rec = static_cast<int>(batch.label[j]);
      const auto img = synthetic_image(rec, 3, 6, 7);
      int matches = 0;
      for (int ho = 0; ho <= 2; ++ho)
        for (int wo = 0; wo <= 3; ++wo)
          for (int m = 0; m < 2; ++m) {
            const auto want =
                reference::data_transform_ref(img, 3, 6, 7, 4, ho, wo, m == 1, {}, {}, 1.0);
            bool same = true;
            for (int k = 0; k < 48 && same; ++k) same = batch.data[j * 48 + k] == want[k];
            if (same) ++matches, h_offs.insert(ho), w_offs.insert(wo), flips.insert(m);
          }
      EXPECT_EQ(matches, 1) << "batch " << bi << " slot " << j;
    }
  }
  EXPECT_EQ(flips.size(), 2u);
  EXPECT_GE(h_offs.size(), 2u);
  EXPECT_GE(w_offs.size(), 2u);
}

TEST(DataLayer, FloatDataAndDoubleTopsAndSingleTop) {
  TempDir dir;
  {
    LmdbWriter w(dir / "db");
    for (int i = 0; i < 4; ++i) {
      Datum d;
      d.set_channels(2), d.set_height(1), d.set_width(3), d.set_label(i);
      for (int k = 0; k < 6; ++k) d.add_float_data(i + k * 0.125f);
      w.put("r" + std::to_string(i), d.SerializeAsString());
    }
    w.commit();
  }
  Context ctx = Context::cpu(1);
  Tensor<double> data;
  TensorVec<double> top{&data};
  auto layer = test::make_layer<double>(
      str_cat("name: 'd' type: 'Data' top: 'data' phase: TEST data_param { source: '", dir / "db",
              "' batch_size: 2 } transform_param { mirror: true mean_value: 1 }"),
      ctx, {}, top);
  layer->forward(ctx, {}, top);
  layer->forward(ctx, {}, top);
  EXPECT_EQ(data.shape(), (std::vector<int64_t>{2, 2, 1, 3}));
  for (int j = 0; j < 2; ++j)
    for (int k = 0; k < 6; ++k) EXPECT_EQ(data.cpu_data()[j * 6 + k], 2 + j + k * 0.125 - 1);
}

TEST(DataLayer, ThreadCountDoesNotChangeTheBatches) {
  const std::string text = layer_text(test::t10k_lmdb(), 32, "TRAIN", "",
                                      "crop_size: 24 mirror: true scale: 0.00390625");
  const auto one = Reader<>(text, Context::cpu(1)).next(3);
  const auto two = Reader<>(text, Context::cpu(2)).next(3);
  ASSERT_EQ(one.size(), two.size());
  for (size_t i = 0; i < one.size(); ++i) {
    EXPECT_EQ(one[i].label, two[i].label);
    EXPECT_EQ(std::memcmp(one[i].data.data(), two[i].data.data(), one[i].data.size() * 4), 0);
  }
}

TEST(DataLayer, ShardsAreDisjointAndCoverEachEpoch) {
  TempDir dir;
  test::write_synthetic_lmdb(dir / "db", 40, 1, 2, 2, pixel);
  for (const char* phase : {"TRAIN", "TEST"}) {
    Reader<> r0(layer_text(dir / "db", 5, phase), Context::cpu(1));
    Reader<> r1(layer_text(dir / "db", 5, phase), Context::cpu(1));
    r0.data_layer().set_shard(0, 2);
    r1.data_layer().set_shard(1, 2);
    for (int epoch = 0; epoch < 2; ++epoch) {
      std::set<int> a, b;
      for (int i = 0; i < 4; ++i) {
        for (float l : r0.next().label) a.insert(static_cast<int>(l));
        for (float l : r1.next().label) b.insert(static_cast<int>(l));
      }
      EXPECT_EQ(a.size(), 20u) << phase;
      EXPECT_EQ(b.size(), 20u) << phase;
      std::set<int> all = a;
      all.insert(b.begin(), b.end());
      EXPECT_EQ(all.size(), 40u) << phase << " epoch " << epoch;
    }
  }
  Reader<> r(layer_text(dir / "db", 5, "TEST"), Context::cpu(1));
  r.data_layer().set_shard(1, 2);
  EXPECT_EQ(r.next().label, (std::vector<float>{5, 6, 7, 8, 9}));
  EXPECT_EQ(r.next().label, (std::vector<float>{15, 16, 17, 18, 19}));
  EXPECT_THROW(r.data_layer().set_shard(2, 2), ConfigError);
  // rand_skip: a fixed, seed-determined offset into the sequence.
  const auto skipped =
      Reader<>(layer_text(dir / "db", 5, "TEST", "rand_skip: 10"), Context::cpu(1)).next();
  const int s = static_cast<int>(skipped.label[0]);
  EXPECT_LT(s, 10);
  for (int j = 0; j < 5; ++j) EXPECT_EQ(skipped.label[j], s + j);
  EXPECT_THROW(r.data_layer().set_shard(0, 0), ConfigError);
}

TEST(DataLayer, ConfigurationAndSourceErrors) {
  TempDir dir;
  test::write_synthetic_lmdb(dir / "db", 6, 3, 6, 7, pixel);
  Context ctx = Context::cpu(1);
  auto make = [&](const std::string& text) { Reader<> r(text, ctx); };
  expect_error_containing([&] { make(layer_text(dir / "missing", 2, "TRAIN")); }, "LMDB not found");
  EXPECT_THROW(make(layer_text(dir / "missing", 2, "TRAIN")), DataError);
  { LmdbWriter w(dir / "empty"); }
  expect_error_containing([&] { make(layer_text(dir / "empty", 2, "TRAIN")); }, "has no records");
  EXPECT_THROW(make(layer_text(dir / "db", 0, "TRAIN")), ConfigError);
  EXPECT_THROW(
      make(str_cat("name: 'd' type: 'Data' top: 'd' data_param { source: '", dir / "db", "' }")),
      ConfigError);
  expect_error_containing(
      [&] {
        make(str_cat("name: 'd' type: 'Data' top: 'd' data_param { source: '", dir / "db",
                     "' batch_size: 2 backend: LEVELDB }"));
      },
      "LEVELDB is not supported; convert to LMDB");
  EXPECT_THROW(make(str_cat("name: 'd' type: 'Data' top: 'd' data_param { source: '", dir / "db",
                            "' batch_size: 2 backend: LEVELDB }")),
               ConfigError);
  EXPECT_THROW(make(layer_text(dir / "db", 2, "TRAIN", "prefetch: 0")), ConfigError);
  expect_error_containing([&] { make(layer_text(dir / "db", 2, "TRAIN", "", "crop_size: 7")); },
                          "crop_size 7 is larger than the 6x7 images");
  expect_error_containing(
      [&] { make(layer_text(dir / "db", 2, "TRAIN", "", "mean_value: 1 mean_value: 2")); },
      "2 mean_value entries for 3-channel images");
  EXPECT_THROW(make(layer_text(dir / "db", 2, "TRAIN", "", "mean_value: 1 mean_file: 'x'")),
               ConfigError);
  EXPECT_THROW(make(layer_text(dir / "db", 2, "TRAIN", "", "mean_file: '" + (dir / "nope") + "'")),
               DataError);
  Reader<> r(layer_text(dir / "db", 2, "TRAIN"), ctx);
  EXPECT_THROW(r.layer->load_state("twelve"), DataError);
  EXPECT_THROW(r.layer->load_state("-3"), DataError);
}

TEST(DataLayer, CorruptRecordsFailInForwardNamingTheKey) {
  TempDir dir;
  const std::string garbage("\xff\xff\xff\xff\xff garbage", 14);
  ASSERT_FALSE(Datum().ParseFromString(garbage));
  test::write_synthetic_lmdb(dir / "db", 10, 1, 4, 4, pixel);
  {
    LmdbWriter w(dir / "db", {.overwrite = true});
    for (int i = 0; i < 10; ++i) {
      Datum d;
      d.set_channels(1), d.set_height(4), d.set_width(i == 9 ? 5 : 4), d.set_label(i);
      d.set_data(std::string(d.width() * 4, 'a'));
      char key[16];
      std::snprintf(key, sizeof key, "%08d", i);
      w.put(key, i == 7 ? garbage : d.SerializeAsString());
    }
    w.commit();
  }
  {
    Reader<> r(layer_text(dir / "db", 4, "TEST"), Context::cpu(2));
    EXPECT_NO_THROW(r.next());  // records 0..3
    expect_error_containing([&] { r.next(); }, "record '00000007' (index 7): not a valid Datum");
    // Later calls report the same error instead of waiting for a thread that has ended.
    EXPECT_THROW(r.next(), DataError);
    // Starting over works, then the same batch fails again.
    r.layer->load_state("0");
    EXPECT_NO_THROW(r.next());
    EXPECT_THROW(r.next(), DataError);
  }
  {
    Reader<> r(layer_text(dir / "db", 1, "TEST", "", ""), Context::cpu(1));
    r.layer->load_state("9");
    expect_error_containing([&] { r.next(); }, "record '00000009' (index 9): shape 1x4x5");
  }
  {
    // Destroying a layer whose queue is full, or whose thread failed, returns promptly.
    Reader<> r(layer_text(dir / "db", 4, "TEST"), Context::cpu(1));
  }
  {
    LmdbWriter w(dir / "first", {});
    w.put("00000000", garbage);
    w.commit();
  }
  expect_error_containing(
      [&] { Reader<> r(layer_text(dir / "first", 1, "TEST"), Context::cpu(1)); },
      "record '00000000' (index 0): not a valid Datum");
}

TEST(DataLayer, EncodedRecordsMatchRaw) {
  TempDir dir;
  std::string list;
  for (const char* f : {"img_7_0.png 7", "img_2_1.png 2", "img_1_2.png 1", "img_0_3.png 0"})
    list += str_cat(f, "\n");
  write_file_atomic(dir / "list.txt", list);
  const std::string root = test::shared_data_dir() + "/lenet_caffe/samples";
  convert_image_list(root, dir / "list.txt", dir / "raw", 0, 0, true, false, false, 1);
  convert_image_list(root, dir / "list.txt", dir / "enc", 0, 0, true, true, false, 1);
  const std::string t = "crop_size: 20 mirror: true scale: 0.00390625";
  const auto raw = Reader<>(layer_text(dir / "raw", 2, "TRAIN", "", t), Context::cpu(1)).next(3);
  const auto enc = Reader<>(layer_text(dir / "enc", 2, "TRAIN", "", t), Context::cpu(1)).next(3);
  EXPECT_TRUE(raw == enc);
  // force_color decodes the grey PNGs into three equal planes.
  Reader<> colour(layer_text(dir / "enc", 2, "TEST", "", "force_color: true"), Context::cpu(1));
  EXPECT_EQ(colour.data.shape(), (std::vector<int64_t>{2, 3, 28, 28}));
  const auto b = colour.next();
  for (int p = 0; p < 784; ++p) EXPECT_EQ(b.data[p], b.data[2 * 784 + p]);
}

}  // namespace
}  // namespace crema
