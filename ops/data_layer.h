/// DataLayer<T> ("Data"): batches of Datums from an LMDB, transformed, prefetched on a thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/data_transformer.h"
#include "core/db.h"
#include "core/layer.h"

namespace crema {

/// Reads data_param.source (LMDB) into top 0 (N, C, H', W') and optionally labels into top 1 (N).
///
/// See Note [Data order]: the record in batch b, slot j is a pure function of (seed, layer name,
/// b, j, rank, world), so the only state is the number of batches consumed.
template <class T>
class DataLayer : public Layer<T> {
 public:
  explicit DataLayer(const LayerParameter& param) : Layer<T>(param) {}
  ~DataLayer() override;

  const char* type() const override { return "Data"; }
  int exact_num_bottom() const override { return 0; }
  int min_num_top() const override { return 1; }
  int max_num_top() const override { return 2; }

  void layer_setup(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) override;
  void reshape(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) override;

  /// The number of batches consumed, as a decimal string.
  std::string save_state() const override;
  /// Restarts reading at the batch after the given count (empty state = from the start).
  void load_state(const std::string& state) override;

  /// Reads shard `rank` of `world`: the ranks read disjoint records in every epoch. Restarts
  /// prefetching at the current batch.
  bool set_shard(int rank, int world) override;
  bool has_gpu_path() const override { return CREMA_WITH_CUDA != 0; }

  int64_t num_records() const { return reader_ ? reader_->size() : 0; }
  int64_t batch_size() const { return batch_size_; }
  /// Batches handed out by forward so far.
  int64_t batches_consumed() const { return consumed_; }
  /// The record (LMDB index) that fills slot j of batch b.
  int64_t record_of(int64_t batch, int64_t slot) const;

 protected:
  void forward_cpu(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) override;
#if CREMA_WITH_CUDA
  // Records are read and transformed on the host; the tops move to the device (through pinned
  // memory) when the next layer reads them there.
  void forward_gpu(Context& ctx, const TensorVec<T>& bottom, const TensorVec<T>& top) override {
    forward_cpu(ctx, bottom, top);
  }
#endif
  void backward_cpu(Context& ctx, const TensorVec<T>& top, const std::vector<bool>& propagate_down,
                    const TensorVec<T>& bottom) override {}

 private:
  struct Batch {
    int64_t index = 0;
    std::vector<T> data, label;
    std::exception_ptr error;
  };

  uint64_t sample_index(int64_t batch, int64_t slot) const;
  // The record order of epoch e: identity in TEST or without shuffle, else a Fisher-Yates
  // shuffle drawn from (seed, layer name, e). Cached for the last epoch asked.
  const std::vector<int64_t>& permutation(int64_t epoch, std::vector<int64_t>* cache,
                                          int64_t* cached_epoch) const;
  void fill_batch(Batch* batch, std::vector<int64_t>* perm, int64_t* perm_epoch);
  void prefetch_loop();
  void start_prefetch();
  void stop_prefetch();

  Context ctx_;
  std::unique_ptr<LmdbReader> reader_;
  std::unique_ptr<DataTransformer<T>> transformer_;
  int64_t batch_size_ = 0;
  int64_t prefetch_ = 0;
  bool shuffle_ = false;
  bool output_labels_ = false;
  uint64_t order_seed_ = 0;
  uint64_t skip_ = 0;
  int rank_ = 0, world_size_ = 1;
  std::vector<int64_t> record_shape_;  // C, H, W of record 0 (before the transform)
  std::vector<int64_t> top_shape_;     // N, C, H', W'

  int64_t consumed_ = 0;  // batches returned by forward
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stop_ = false;
  int64_t next_ = 0;  // next batch the thread fills (guarded by mutex_ while it runs)
  std::deque<std::unique_ptr<Batch>> free_, full_;
};

}  // namespace crema
