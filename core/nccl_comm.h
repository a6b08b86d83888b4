/// NcclComm: the GPU transport of data-parallel training. Rank 0 draws NCCL's unique id and MPI
/// broadcasts it; every rank then joins one NCCL communicator on its device. Reductions run on a
/// stream of their own that waits for the compute stream with events, so backward goes on while
/// a bucket is reduced. CUDA builds with NCCL only (CREMA_WITH_NCCL); elsewhere the constructor
/// throws a DeviceError that says so.
#pragma once

#include <cstdint>
#include <memory>

#include "core/comm.h"
#include "core/context.h"

namespace crema {

class NcclComm {
 public:
  /// Joins the group's NCCL communicator on ctx's device (a collective over all ranks).
  NcclComm(Communicator& group, const Context& ctx);
  ~NcclComm();
  NcclComm(const NcclComm&) = delete;
  NcclComm& operator=(const NcclComm&) = delete;

  /// Device scratch of `bytes` for bucket `b` (allocated once, kept).
  void* bucket_buffer(int b, size_t bytes);
  /// Starts bucket `b` (after bucket_buffer): the reduction stream waits for the work queued so
  /// far on the compute stream, which finished the bucket's gradients.
  void begin_bucket(int b);
  /// Queues a device-to-device copy on the reduction stream.
  void copy(void* dst, const void* src, size_t bytes);
  /// Queues an in-place average over the ranks of `count` values at `data`.
  void allreduce_mean(void* data, int64_t count, CommType type);
  /// Marks the end of bucket `b`'s work on the reduction stream (for timing and waiting).
  void record_done(int b);
  /// Blocks until every queued reduction is done, or throws CommError (aborting the NCCL
  /// communicator) when they make no progress for the group's timeout; then makes the compute
  /// stream wait for them. Returns the milliseconds bucket b took (ready to done), per bucket.
  void finish(int buckets, double* bucket_ms);

 private:
  struct State;
  Communicator& group_;
  const Context& ctx_;
  std::unique_ptr<State> s_;
};

}  // namespace crema
