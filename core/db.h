/// LMDB access: a read-only random-access reader and a batched writer that grows the map.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

struct MDB_env;

namespace crema {

/// A read-only LMDB (Caffe's layout: a directory holding data.mdb, or the data file itself).
/// All keys are read once at open, in LMDB (sorted) order, so record k is fetched by index.
/// Safe to use from several threads: each read runs in its own read transaction.
class LmdbReader {
 public:
  /// Opens `path`; a missing path, a non-LMDB, or (unless allow_empty) an LMDB with no records
  /// is a DataError.
  explicit LmdbReader(const std::string& path, bool allow_empty = false);
  ~LmdbReader();
  LmdbReader(const LmdbReader&) = delete;
  LmdbReader& operator=(const LmdbReader&) = delete;

  const std::string& path() const { return path_; }
  int64_t size() const { return static_cast<int64_t>(key_offsets_.size()) - 1; }
  /// Key of record k (0 <= k < size()).
  std::string_view key(int64_t k) const;
  /// Value of record k.
  std::string value(int64_t k) const;
  /// Values of the records `index[0..n)` into out (resized to n), in one read transaction.
  void values(const int64_t* index, int64_t n, std::vector<std::string>* out) const;

  /// Number of records in the LMDB at path, or -1 when there is none there (no path, or a
  /// directory without data.mdb). A path that holds something other than an LMDB is a DataError.
  static int64_t count_records(const std::string& path);

 private:
  std::string path_;
  MDB_env* env_ = nullptr;
  unsigned int dbi_ = 0;
  std::string keys_;                   // all keys, concatenated
  std::vector<uint64_t> key_offsets_;  // key k is keys_[offsets[k], offsets[k+1])
};

/// Options of LmdbWriter.
struct LmdbWriterOptions {
  bool overwrite = false;           ///< drop existing records instead of refusing
  int64_t commit_every = 1000;      ///< records per write transaction
  uint64_t map_size = 64ull << 20;  ///< initial map size in bytes; doubled on MDB_MAP_FULL
};

/// Writes records into an LMDB directory (created if missing) in batched transactions. Call
/// commit() before destruction: the destructor discards records not yet committed.
class LmdbWriter {
 public:
  /// Opens or creates the LMDB directory `path`. An existing LMDB with records is a DataError
  /// unless options.overwrite, which empties it.
  explicit LmdbWriter(const std::string& path, const LmdbWriterOptions& options = {});
  ~LmdbWriter();
  LmdbWriter(const LmdbWriter&) = delete;
  LmdbWriter& operator=(const LmdbWriter&) = delete;

  /// Queues a record; commits when commit_every records are queued.
  void put(std::string key, std::string value);
  /// Writes every queued record in one transaction, doubling the map size while it is full.
  void commit();

  const std::string& path() const { return path_; }
  /// Records committed so far by this writer.
  int64_t committed() const { return committed_; }
  /// Current map size in bytes (grows by doubling).
  uint64_t map_size() const { return map_size_; }

 private:
  std::string path_;
  LmdbWriterOptions options_;
  MDB_env* env_ = nullptr;
  unsigned int dbi_ = 0;
  uint64_t map_size_ = 0;
  int64_t committed_ = 0;
  std::vector<std::pair<std::string, std::string>> pending_;
};

}  // namespace crema
