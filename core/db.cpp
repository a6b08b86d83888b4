#include "core/db.h"

#include <lmdb.h>

#include <cerrno>
#include <filesystem>

#include "core/error.h"

namespace crema {
namespace fs = std::filesystem;

namespace {

void check_mdb(int rc, const char* call, const std::string& path) {
  if (rc != MDB_SUCCESS)
    throw DataError(str_cat("LMDB ", path, ": ", call, " failed: ", mdb_strerror(rc)));
}

std::string not_found(const std::string& path, const char* why) {
  return str_cat("LMDB not found: ", path, why,
                 "; create it with `crema convert ...` (or fix data_param.source)");
}

// Aborts a transaction unless it was committed (or handed back) first.
class TxnGuard {
 public:
  explicit TxnGuard(MDB_txn* txn) : txn_(txn) {}
  ~TxnGuard() {
    if (txn_) mdb_txn_abort(txn_);
  }
  TxnGuard(const TxnGuard&) = delete;
  TxnGuard& operator=(const TxnGuard&) = delete;
  MDB_txn* get() const { return txn_; }
  MDB_txn* release() {
    MDB_txn* t = txn_;
    txn_ = nullptr;
    return t;
  }

 private:
  MDB_txn* txn_;
};

// Opens an existing LMDB read-only. A read-only directory cannot hold the lock file, so it is
// opened without locking then (safe as long as nobody writes to it meanwhile).
MDB_env* open_read_only(const std::string& path) {
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (!fs::exists(st)) throw DataError(not_found(path, ""));
  unsigned flags = MDB_RDONLY | MDB_NOTLS;
  if (fs::is_directory(st)) {
    if (!fs::exists(fs::path(path) / "data.mdb", ec))
      throw DataError(not_found(path, " (a directory without data.mdb)"));
  } else {
    flags |= MDB_NOSUBDIR;
  }
  for (const unsigned extra : {0u, static_cast<unsigned>(MDB_NOLOCK)}) {
    MDB_env* env = nullptr;
    check_mdb(mdb_env_create(&env), "mdb_env_create", path);
    const int rc = mdb_env_open(env, path.c_str(), flags | extra, 0664);
    if (rc == MDB_SUCCESS) return env;
    mdb_env_close(env);
    if ((rc == EACCES || rc == EROFS) && extra == 0) continue;
    if (rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH || rc == EINVAL)
      throw DataError(str_cat(path, " is not an LMDB (", mdb_strerror(rc),
                              "); give the directory written by `crema convert`"));
    check_mdb(rc, "mdb_env_open", path);
  }
  throw DataError(str_cat("LMDB ", path, ": cannot open read-only"));
}

}  // namespace

LmdbReader::LmdbReader(const std::string& path, bool allow_empty) : path_(path) {
  env_ = open_read_only(path);
  try {
    MDB_txn* raw = nullptr;
    check_mdb(mdb_txn_begin(env_, nullptr, MDB_RDONLY, &raw), "mdb_txn_begin", path_);
    TxnGuard txn(raw);
    MDB_dbi dbi;
    check_mdb(mdb_dbi_open(txn.get(), nullptr, 0, &dbi), "mdb_dbi_open", path_);
    dbi_ = dbi;
    MDB_cursor* cursor = nullptr;
    check_mdb(mdb_cursor_open(txn.get(), dbi, &cursor), "mdb_cursor_open", path_);
    key_offsets_.push_back(0);
    MDB_val key, value;
    int rc = mdb_cursor_get(cursor, &key, &value, MDB_FIRST);
    while (rc == MDB_SUCCESS) {
      keys_.append(static_cast<const char*>(key.mv_data), key.mv_size);
      key_offsets_.push_back(keys_.size());
      rc = mdb_cursor_get(cursor, &key, &value, MDB_NEXT);
    }
    mdb_cursor_close(cursor);
    if (rc != MDB_NOTFOUND) check_mdb(rc, "mdb_cursor_get", path_);
    // Committing (not aborting) keeps the database handle open for later transactions.
    check_mdb(mdb_txn_commit(txn.release()), "mdb_txn_commit", path_);
    if (size() == 0 && !allow_empty)
      throw DataError(str_cat("LMDB ", path_,
                              " has no records; convert data into it with "
                              "`crema convert ...`"));
  } catch (...) {
    mdb_env_close(env_);
    throw;
  }
}

LmdbReader::~LmdbReader() { mdb_env_close(env_); }

std::string_view LmdbReader::key(int64_t k) const {
  CREMA_ASSERT(k >= 0 && k < size());
  return std::string_view(keys_).substr(key_offsets_[k], key_offsets_[k + 1] - key_offsets_[k]);
}

std::string LmdbReader::value(int64_t k) const {
  std::vector<std::string> out;
  values(&k, 1, &out);
  return std::move(out[0]);
}

void LmdbReader::values(const int64_t* index, int64_t n, std::vector<std::string>* out) const {
  out->resize(n);
  MDB_txn* raw = nullptr;
  check_mdb(mdb_txn_begin(env_, nullptr, MDB_RDONLY, &raw), "mdb_txn_begin", path_);
  TxnGuard txn(raw);
  for (int64_t i = 0; i < n; ++i) {
    const std::string_view k = key(index[i]);
    MDB_val mk{k.size(), const_cast<char*>(k.data())}, mv;
    const int rc = mdb_get(txn.get(), dbi_, &mk, &mv);
    if (rc == MDB_NOTFOUND)
      throw DataError(str_cat("LMDB ", path_, ": record '", k, "' (index ", index[i],
                              ") disappeared; was the LMDB rewritten while in use?"));
    check_mdb(rc, "mdb_get", path_);
    (*out)[i].assign(static_cast<const char*>(mv.mv_data), mv.mv_size);
  }
}

int64_t LmdbReader::count_records(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return -1;
  if (fs::is_directory(path, ec) && !fs::exists(fs::path(path) / "data.mdb", ec)) return -1;
  MDB_env* env = open_read_only(path);
  MDB_stat stat;
  const int rc = mdb_env_stat(env, &stat);
  mdb_env_close(env);
  check_mdb(rc, "mdb_env_stat", path);
  return static_cast<int64_t>(stat.ms_entries);
}

LmdbWriter::LmdbWriter(const std::string& path, const LmdbWriterOptions& options)
    : path_(path), options_(options) {
  CREMA_CHECK_AS(ConfigError, options.commit_every > 0,
                 "LMDB writer: commit_every must be > 0, got ", options.commit_every);
  CREMA_CHECK_AS(ConfigError, options.map_size > 0, "LMDB writer: map_size must be > 0");
  std::error_code ec;
  if (fs::exists(path, ec) && !fs::is_directory(path, ec))
    throw DataError(str_cat("cannot write LMDB ", path, ": it exists and is not a directory"));
  fs::create_directories(path, ec);
  if (ec) throw DataError(str_cat("cannot create LMDB directory ", path, ": ", ec.message()));
  check_mdb(mdb_env_create(&env_), "mdb_env_create", path_);
  try {
    check_mdb(mdb_env_set_mapsize(env_, options.map_size), "mdb_env_set_mapsize", path_);
    const int rc = mdb_env_open(env_, path.c_str(), 0, 0664);
    if (rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH)
      throw DataError(str_cat("cannot write LMDB ", path, ": its data.mdb is not an LMDB (",
                              mdb_strerror(rc), ")"));
    check_mdb(rc, "mdb_env_open", path_);
    MDB_envinfo info;
    check_mdb(mdb_env_info(env_, &info), "mdb_env_info", path_);
    map_size_ = info.me_mapsize;
    MDB_txn* raw = nullptr;
    check_mdb(mdb_txn_begin(env_, nullptr, 0, &raw), "mdb_txn_begin", path_);
    TxnGuard txn(raw);
    MDB_dbi dbi;
    check_mdb(mdb_dbi_open(txn.get(), nullptr, MDB_CREATE, &dbi), "mdb_dbi_open", path_);
    dbi_ = dbi;
    MDB_stat stat;
    check_mdb(mdb_stat(txn.get(), dbi, &stat), "mdb_stat", path_);
    if (stat.ms_entries > 0) {
      if (!options.overwrite)
        throw DataError(str_cat("LMDB ", path, " already holds ", stat.ms_entries,
                                " records; refusing to overwrite it (pass --overwrite, or choose "
                                "another output path)"));
      check_mdb(mdb_drop(txn.get(), dbi, 0), "mdb_drop", path_);
    }
    check_mdb(mdb_txn_commit(txn.release()), "mdb_txn_commit", path_);
  } catch (...) {
    mdb_env_close(env_);
    throw;
  }
}

LmdbWriter::~LmdbWriter() { mdb_env_close(env_); }

void LmdbWriter::put(std::string key, std::string value) {
  pending_.emplace_back(std::move(key), std::move(value));
  if (static_cast<int64_t>(pending_.size()) >= options_.commit_every) commit();
}

void LmdbWriter::commit() {
  if (pending_.empty()) return;
  for (;;) {
    MDB_txn* raw = nullptr;
    check_mdb(mdb_txn_begin(env_, nullptr, 0, &raw), "mdb_txn_begin", path_);
    TxnGuard txn(raw);
    int rc = MDB_SUCCESS;
    for (auto& [k, v] : pending_) {
      MDB_val mk{k.size(), k.data()}, mv{v.size(), v.data()};
      rc = mdb_put(txn.get(), dbi_, &mk, &mv, 0);
      if (rc != MDB_SUCCESS) break;
    }
    // A failed commit frees the transaction, so the guard lets go of it first.
    if (rc == MDB_SUCCESS) rc = mdb_txn_commit(txn.release());
    if (rc == MDB_MAP_FULL) {
      // The whole batch is retried in a fresh transaction on a map twice as large.
      if (MDB_txn* t = txn.release()) mdb_txn_abort(t);
      map_size_ *= 2;
      check_mdb(mdb_env_set_mapsize(env_, map_size_), "mdb_env_set_mapsize", path_);
      continue;
    }
    if (rc != MDB_SUCCESS) {
      throw DataError(str_cat("LMDB ", path_, ": writing a batch of ", pending_.size(),
                              " records (first key '", pending_.front().first,
                              "') failed: ", mdb_strerror(rc)));
    }
    break;
  }
  committed_ += static_cast<int64_t>(pending_.size());
  pending_.clear();
}

}  // namespace crema
