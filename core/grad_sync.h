/// Gradient averaging for data-parallel training: parameters grouped into buckets in the order
/// backward finishes them, each bucket reduced over the ranks as soon as its last gradient is
/// final, while backward goes on with earlier layers. The plan and the readiness bookkeeping are
/// the same for every transport (MPI on the CPU, NCCL on GPUs); only the reduction differs.
#pragma once

#include <chrono>
#include <memory>
#include <cstdint>
#include <string>
#include <vector>

#include "core/comm.h"
#include "core/nccl_comm.h"
#include "core/net.h"

namespace crema {

/// Learnable parameters grouped into buckets.
struct BucketPlan {
  struct Bucket {
    std::vector<int> params;  ///< learnable parameter indices, in the order they become final
    int64_t count = 0;        ///< elements in all
  };
  std::vector<Bucket> buckets;  ///< in the order backward completes them
  std::vector<int> bucket_of;   ///< per learnable parameter; -1 when it is not reduced
};

/// Groups the parameters with `reduce[k]` by readiness: parameter k is final after the backward
/// step of layer ready_layer[k], and backward visits layers from last to first, so parameters are
/// taken by descending ready_layer (ties by descending k). A bucket closes when the next
/// parameter would take it past `bucket_bytes`; a parameter larger than that gets its own.
BucketPlan plan_buckets(const std::vector<int64_t>& counts, const std::vector<int>& ready_layer,
                        const std::vector<bool>& reduce, size_t elem_bytes, size_t bucket_bytes);

/// Tracks one backward pass: which buckets have all their parameters final.
class BucketReadiness {
 public:
  BucketReadiness(const BucketPlan& plan, std::vector<int> ready_layer);
  /// Starts a new pass: nothing is final.
  void reset();
  /// Marks layer `layer`'s backward step as over (layers come in descending order); returns the
  /// buckets that just became complete, in plan order.
  std::vector<int> layer_done(int layer);
  bool all_complete() const { return completed_ == static_cast<int>(pending_.size()); }

 private:
  const BucketPlan& plan_;
  std::vector<int> ready_layer_;
  std::vector<int> pending_;  // per bucket: parameters not yet final
  int completed_ = 0;
};

/// Per-step timing of the gradient exchange, summed over steps.
struct GradSyncStats {
  int steps = 0;
  double backward_ms = 0;  ///< from the start of the reduced backward pass to its end
  double reduce_ms = 0;    ///< time the transport spent reducing buckets
  double exposed_ms = 0;   ///< time spent waiting for reductions after backward ended
  std::vector<double> bucket_ready_ms, bucket_reduce_ms;  ///< per bucket, summed over steps
};

/// Averages the gradients of `net`'s learnable parameters over the ranks of `comm`: with MPI on
/// the communication thread for CPU nets, with NCCL on a reduction stream for GPU nets.
template <class T>
class GradientSync {
 public:
  /// Parameters with lr_mult 0 are left alone; `bucket_bytes` bounds a bucket.
  GradientSync(Net<T>& net, Communicator& comm, size_t bucket_bytes);
  ~GradientSync();

  /// Arms the net's backward hook for the next backward pass (the last of an iteration, whose
  /// gradients are final).
  void begin_backward();
  /// Waits for every bucket and disarms the hook: the gradients then hold the mean over ranks.
  void finish();

  const BucketPlan& plan() const { return plan_; }
  const GradSyncStats& stats() const { return stats_; }
  /// A table of the buckets (their layers, size, when they became ready, how long they took) and
  /// how much of the reduction overlapped backward.
  std::string report() const;

 private:
  using clock = std::chrono::steady_clock;
  void start_bucket(int b);
  void start_bucket_on_gpu(int b);

  Net<T>& net_;
  Communicator& comm_;
  BucketPlan plan_;
  std::vector<int> ready_layer_;
  BucketReadiness readiness_;
  std::unique_ptr<NcclComm> nccl_;       // GPU nets
  std::vector<std::vector<T>> buffers_;  // CPU nets: one contiguous buffer per bucket
  std::vector<Communicator::Ticket> tickets_;
  std::vector<double> reduce_ms_;  // written by the communication thread; read after wait
  clock::time_point backward_start_;
  GradSyncStats stats_;
};

}  // namespace crema
