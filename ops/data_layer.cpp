#include "ops/data_layer.h"

#include <algorithm>
#include <charconv>

#include "core/parallel.h"
#include "core/rng.h"

namespace crema {

// Note [Data order]
// The sample index of batch b, slot j is g = (b * world + rank) * batch_size + j (+ a fixed
// rand_skip offset). Epoch e = g / num_records and position r = g % num_records pick the record
// permutation_e[r], where permutation_e is a Fisher-Yates shuffle whose swaps are counter-based
// draws from (seed, layer name, e) (identity in TEST or with shuffle: false). The crop and flip of
// sample g are draws from (seed, layer name, g) too. So a batch depends on nothing but its index:
// any thread count gives the same batches, ranks never share a record within an epoch, and a
// resumed run only needs the number of batches consumed.

template <class T>
DataLayer<T>::~DataLayer() {
  stop_prefetch();
}

template <class T>
void DataLayer<T>::layer_setup(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  ctx_ = ctx;
  const LayerParameter& lp = this->layer_param();
  const DataParameter& dp = lp.data_param();
  // Caffe's default backend is LEVELDB; only an explicit LEVELDB is refused, so prototxts that
  // omit the field read the LMDB they point to.
  CREMA_LAYER_CHECK(!(dp.has_backend() && dp.backend() == DataParameter::LEVELDB),
                    "data_param.backend: LEVELDB is not supported; convert to LMDB "
                    "(`crema convert ...`) and set backend: LMDB");
  CREMA_LAYER_CHECK(!dp.source().empty(), "data_param.source is empty; give the LMDB directory");
  CREMA_LAYER_CHECK(dp.batch_size() > 0, "data_param.batch_size must be > 0, got ",
                    dp.batch_size());
  CREMA_LAYER_CHECK(dp.prefetch() > 0, "data_param.prefetch must be > 0, got ", dp.prefetch());
  batch_size_ = dp.batch_size();
  prefetch_ = dp.prefetch();
  shuffle_ = dp.shuffle() && this->phase() == TRAIN;
  output_labels_ = top.size() > 1;

  // The deprecated transformation fields of DataParameter apply where transform_param is silent.
  TransformationParameter tp = lp.transform_param();
  if (dp.has_scale() && !tp.has_scale()) tp.set_scale(dp.scale());
  if (dp.has_mean_file() && !tp.has_mean_file()) tp.set_mean_file(dp.mean_file());
  if (dp.has_crop_size() && !tp.has_crop_size()) tp.set_crop_size(dp.crop_size());
  if (dp.has_mirror() && !tp.has_mirror()) tp.set_mirror(dp.mirror());
  if (dp.force_encoded_color() && !tp.has_force_color()) tp.set_force_color(true);

  const std::string& name = this->name();
  const uint64_t transform_stream = rng::hash_name((name + "#transform").c_str());
  const uint64_t order_stream = rng::hash_name((name + "#order").c_str());
  order_seed_ = rng::bits(ctx.seed, order_stream, 0);
  skip_ = dp.rand_skip() > 0 ? rng::bits(ctx.seed, order_stream, 1) % dp.rand_skip() : 0;
  transformer_ =
      std::make_unique<DataTransformer<T>>(tp, this->phase(), ctx.seed, transform_stream);
  reader_ = std::make_unique<LmdbReader>(dp.source());

  Datum first;
  if (!first.ParseFromString(reader_->value(0)))
    throw DataError(str_cat("LMDB ", dp.source(), ": record '", reader_->key(0),
                            "' (index 0): not a valid Datum (the record is corrupt)"));
  DatumImage img;
  try {
    img = transformer_->image(first);
  } catch (const DataError& e) {
    throw DataError(
        str_cat("LMDB ", dp.source(), ": record '", reader_->key(0), "' (index 0): ", e.what()));
  }
  record_shape_ = {img.channels, img.height, img.width};
  const std::vector<int64_t> out = transformer_->output_shape(img.channels, img.height, img.width);
  top_shape_ = {batch_size_, out[0], out[1], out[2]};
  start_prefetch();
}

template <class T>
void DataLayer<T>::reshape(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  top[0]->reshape(top_shape_);
  if (output_labels_) top[1]->reshape({batch_size_});
}

template <class T>
uint64_t DataLayer<T>::sample_index(int64_t batch, int64_t slot) const {
  return (static_cast<uint64_t>(batch) * world_size_ + rank_) * batch_size_ + slot + skip_;
}

template <class T>
const std::vector<int64_t>& DataLayer<T>::permutation(int64_t epoch, std::vector<int64_t>* cache,
                                                      int64_t* cached_epoch) const {
  if (*cached_epoch == epoch) return *cache;
  const int64_t n = reader_->size();
  cache->resize(n);
  for (int64_t i = 0; i < n; ++i) (*cache)[i] = i;
  const uint64_t epoch_seed = rng::bits(order_seed_, static_cast<uint64_t>(epoch), 0);
  for (int64_t i = n - 1; i > 0; --i) {
    const uint64_t j =
        rng::bits(epoch_seed, 0, static_cast<uint64_t>(i)) % static_cast<uint64_t>(i + 1);
    std::swap((*cache)[i], (*cache)[j]);
  }
  *cached_epoch = epoch;
  return *cache;
}

template <class T>
int64_t DataLayer<T>::record_of(int64_t batch, int64_t slot) const {
  const uint64_t g = sample_index(batch, slot);
  const uint64_t n = static_cast<uint64_t>(reader_->size());
  const int64_t r = static_cast<int64_t>(g % n);
  if (!shuffle_) return r;
  std::vector<int64_t> perm;
  int64_t epoch = -1;
  return permutation(static_cast<int64_t>(g / n), &perm, &epoch)[r];
}

template <class T>
void DataLayer<T>::fill_batch(Batch* batch, std::vector<int64_t>* perm, int64_t* perm_epoch) {
  const int64_t n = batch_size_;
  const uint64_t num = static_cast<uint64_t>(reader_->size());
  std::vector<int64_t> records(n);
  std::vector<uint64_t> samples(n);
  for (int64_t j = 0; j < n; ++j) {
    samples[j] = sample_index(batch->index, j);
    const int64_t r = static_cast<int64_t>(samples[j] % num);
    records[j] =
        shuffle_ ? permutation(static_cast<int64_t>(samples[j] / num), perm, perm_epoch)[r] : r;
  }
  std::vector<std::string> values;
  reader_->values(records.data(), n, &values);

  const int64_t item = top_shape_[1] * top_shape_[2] * top_shape_[3];
  std::vector<std::string> errors(n);
  // Nothing may throw out of the loop: each slot records its own error.
  parallel_for_heavy(ctx_, n, [&](int64_t j) {
    try {
      Datum datum;
      if (!datum.ParseFromString(values[j])) {
        errors[j] = "not a valid Datum (the record is corrupt)";
        return;
      }
      const DatumImage img = transformer_->image(datum);
      if (img.channels != record_shape_[0] || img.height != record_shape_[1] ||
          img.width != record_shape_[2]) {
        errors[j] =
            str_cat("shape ", img.channels, "x", img.height, "x", img.width, " but record 0 has ",
                    record_shape_[0], "x", record_shape_[1], "x", record_shape_[2],
                    "; all records must have one size (convert with resizing)");
        return;
      }
      transformer_->transform(img, samples[j], batch->data.data() + j * item);
      if (output_labels_) batch->label[j] = static_cast<T>(datum.label());
    } catch (const std::exception& e) {
      errors[j] = e.what();
    }
  });
  for (int64_t j = 0; j < n; ++j) {
    if (errors[j].empty()) continue;
    throw DataError(str_cat("LMDB ", reader_->path(), ": record '", reader_->key(records[j]),
                            "' (index ", records[j], "): ", errors[j]));
  }
}

template <class T>
void DataLayer<T>::prefetch_loop() {
  std::vector<int64_t> perm;
  int64_t perm_epoch = -1;
  for (;;) {
    std::unique_ptr<Batch> batch;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      cv_.wait(lock, [&] { return stop_ || !free_.empty(); });
      if (stop_) return;
      batch = std::move(free_.front());
      free_.pop_front();
      batch->index = next_++;
    }
    batch->error = nullptr;
    try {
      fill_batch(batch.get(), &perm, &perm_epoch);
    } catch (...) {
      // Handed to forward on the main thread, which rethrows it; this thread ends here.
      batch->error = std::current_exception();
    }
    const bool failed = batch->error != nullptr;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      full_.push_back(std::move(batch));
    }
    cv_.notify_all();
    if (failed) return;
  }
}

template <class T>
void DataLayer<T>::start_prefetch() {
  if (!reader_) return;  // not set up yet: layer_setup starts it
  stop_ = false;
  next_ = consumed_;
  while (!full_.empty()) {
    free_.push_back(std::move(full_.front()));
    full_.pop_front();
  }
  while (static_cast<int64_t>(free_.size()) < prefetch_) {
    auto batch = std::make_unique<Batch>();
    batch->data.resize(
        static_cast<size_t>(top_shape_[0] * top_shape_[1] * top_shape_[2] * top_shape_[3]));
    batch->label.resize(static_cast<size_t>(batch_size_));
    free_.push_back(std::move(batch));
  }
  thread_ = std::thread(&DataLayer::prefetch_loop, this);
}

template <class T>
void DataLayer<T>::stop_prefetch() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

template <class T>
void DataLayer<T>::forward_cpu(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) {
  std::unique_ptr<Batch> batch;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    // After a failure the thread has ended; the failed batch stays at the front of the queue so
    // every later forward reports it too.
    cv_.wait(lock, [&] { return !full_.empty(); });
    if (full_.front()->error) std::rethrow_exception(full_.front()->error);
    batch = std::move(full_.front());
    full_.pop_front();
  }
  CREMA_ASSERT(batch->index == consumed_);
  std::copy(batch->data.begin(), batch->data.end(), top[0]->mutable_cpu_data());
  if (output_labels_)
    std::copy(batch->label.begin(), batch->label.end(), top[1]->mutable_cpu_data());
  ++consumed_;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    free_.push_back(std::move(batch));
  }
  cv_.notify_all();
}

template <class T>
std::string DataLayer<T>::save_state() const {
  return std::to_string(consumed_);
}

template <class T>
void DataLayer<T>::load_state(const std::string& state) {
  int64_t batches = 0;
  if (!state.empty()) {
    const char* end = state.data() + state.size();
    const auto [p, ec] = std::from_chars(state.data(), end, batches);
    if (ec != std::errc() || p != end || batches < 0)
      throw DataError(str_cat("Data layer state '", state,
                              "' is not a count of batches (a non-negative integer); the snapshot "
                              "is corrupt or from another layer type"));
  }
  stop_prefetch();
  consumed_ = batches;
  start_prefetch();
}

template <class T>
bool DataLayer<T>::set_shard(int rank, int world) {
  CREMA_LAYER_CHECK(world >= 1 && rank >= 0 && rank < world, "set_shard: need 0 <= rank < world,",
                    " got rank ", rank, " of world ", world);
  stop_prefetch();
  rank_ = rank;
  world_size_ = world;
  start_prefetch();
  return true;
}

CREMA_INSTANTIATE_CLASS(DataLayer);

}  // namespace crema
