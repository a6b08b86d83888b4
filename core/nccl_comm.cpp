#include "core/nccl_comm.h"

#include <chrono>
#include <thread>
#include <vector>

#include "core/error.h"

#if CREMA_WITH_NCCL
#include <cuda_runtime.h>
#include <nccl.h>

#include "core/cuda_check.h"
#endif

namespace crema {

#if CREMA_WITH_NCCL

namespace {

void check_nccl(ncclResult_t r, const char* call, int rank) {
  if (r != ncclSuccess)
    throw CommError(str_cat("rank ", rank, ": ", call, " failed: ", ncclGetErrorString(r),
                            "; set NCCL_DEBUG=INFO for NCCL's own account"));
}

ncclDataType_t nccl_type(CommType t) {
  switch (t) {
    case CommType::kFloat: return ncclFloat32;
    case CommType::kDouble: return ncclFloat64;
    case CommType::kByte: break;
  }
  return ncclUint8;
}

}  // namespace

struct NcclComm::State {
  ncclComm_t comm = nullptr;
  cudaStream_t stream = nullptr;
  cudaEvent_t ready = nullptr;
  std::vector<void*> buffers;
  std::vector<size_t> sizes;
  std::vector<cudaEvent_t> start, done;  // per bucket, timing enabled
  std::vector<bool> recorded;
};

NcclComm::NcclComm(Communicator& group, const Context& ctx)
    : group_(group), ctx_(ctx), s_(std::make_unique<State>()) {
  CREMA_CHECK_AS(DeviceError, ctx.on_gpu(), "NCCL needs a GPU context (--gpu)");
  check_cuda(cudaSetDevice(ctx.device), "cudaSetDevice");
  ncclUniqueId id{};
  if (group.is_root()) check_nccl(ncclGetUniqueId(&id), "ncclGetUniqueId", group.rank());
  group.broadcast(&id, sizeof id, 0, "NCCL unique id");
  // Non-blocking init, so a rank that never joins shows up as a timeout, not a hang.
  ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
  config.blocking = 0;
  check_nccl(ncclCommInitRankConfig(&s_->comm, group.world(), id, group.rank(), &config),
             "ncclCommInitRank", group.rank());
  const auto start = std::chrono::steady_clock::now();
  for (;;) {
    ncclResult_t state = ncclSuccess;
    check_nccl(ncclCommGetAsyncError(s_->comm, &state), "ncclCommGetAsyncError", group.rank());
    if (state == ncclSuccess) break;
    if (state != ncclInProgress) check_nccl(state, "ncclCommInitRank", group.rank());
    if (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() >
        group.timeout()) {
      ncclCommAbort(s_->comm);
      s_->comm = nullptr;
      throw CommError(str_cat("rank ", group.rank(), ": NCCL could not connect the ", group.world(),
                              " ranks within ", group.timeout(), " s; check that every node "
                              "reaches the others (NCCL_SOCKET_IFNAME, NCCL_IB_HCA)"));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  check_cuda(cudaStreamCreateWithFlags(&s_->stream, cudaStreamNonBlocking), "cudaStreamCreate");
  check_cuda(cudaEventCreateWithFlags(&s_->ready, cudaEventDisableTiming), "cudaEventCreate");
}

NcclComm::~NcclComm() {
  if (s_->comm) ncclCommDestroy(s_->comm);
  for (auto* events : {&s_->start, &s_->done})
    for (cudaEvent_t e : *events) cudaEventDestroy(e);
  if (s_->ready) cudaEventDestroy(s_->ready);
  if (s_->stream) cudaStreamDestroy(s_->stream);
  for (void* b : s_->buffers) cudaFree(b);
}

void* NcclComm::bucket_buffer(int b, size_t bytes) {
  if (static_cast<int>(s_->buffers.size()) <= b) {
    s_->buffers.resize(b + 1, nullptr);
    s_->sizes.resize(b + 1, 0);
    s_->start.resize(b + 1, nullptr);
    s_->done.resize(b + 1, nullptr);
    s_->recorded.resize(b + 1, false);
  }
  if (!s_->start[b]) {
    check_cuda(cudaEventCreate(&s_->start[b]), "cudaEventCreate");
    check_cuda(cudaEventCreate(&s_->done[b]), "cudaEventCreate");
  }
  if (s_->sizes[b] < bytes) {  // once per bucket: the plan never changes
    if (s_->buffers[b]) cudaFree(s_->buffers[b]);
    s_->buffers[b] = nullptr;
    check_cuda(cudaMalloc(&s_->buffers[b], bytes), "cudaMalloc (gradient bucket)");
    s_->sizes[b] = bytes;
  }
  return s_->buffers[b];
}

void NcclComm::begin_bucket(int b) {
  check_cuda(cudaEventRecord(s_->ready, static_cast<cudaStream_t>(ctx_.cuda_stream())),
             "cudaEventRecord");
  check_cuda(cudaStreamWaitEvent(s_->stream, s_->ready, 0), "cudaStreamWaitEvent");
  check_cuda(cudaEventRecord(s_->start[b], s_->stream), "cudaEventRecord");
}

void NcclComm::copy(void* dst, const void* src, size_t bytes) {
  check_cuda(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, s_->stream),
             "cudaMemcpyAsync");
}

void NcclComm::allreduce_mean(void* data, int64_t count, CommType type) {
  check_nccl(ncclAllReduce(data, data, static_cast<size_t>(count), nccl_type(type), ncclAvg,
                           s_->comm, s_->stream),
             "ncclAllReduce", group_.rank());
}

void NcclComm::record_done(int b) {
  check_cuda(cudaEventRecord(s_->done[b], s_->stream), "cudaEventRecord");
  s_->recorded[b] = true;
}

void NcclComm::finish(int buckets, double* bucket_ms) {
  // Poll rather than synchronize: a peer that died leaves NCCL's kernels waiting forever.
  const auto start = std::chrono::steady_clock::now();
  for (;;) {
    const cudaError_t q = cudaStreamQuery(s_->stream);
    if (q == cudaSuccess) break;
    if (q != cudaErrorNotReady) check_cuda(q, "NCCL reduction stream");
    ncclResult_t state = ncclSuccess;
    ncclCommGetAsyncError(s_->comm, &state);
    const bool late = std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
                          .count() > group_.timeout();
    if ((state != ncclSuccess && state != ncclInProgress) || late) {
      ncclCommAbort(s_->comm);
      s_->comm = nullptr;
      throw CommError(str_cat("rank ", group_.rank(), ": the NCCL gradient all-reduce ",
                              late ? str_cat("made no progress for ", group_.timeout(), " s")
                                   : std::string(ncclGetErrorString(state)),
                              "; a peer rank died or hangs. Stopping all ranks; resume from the "
                              "last snapshot with --snapshot (the limit is the solver's "
                              "comm_timeout_s)"));
    }
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
  for (int b = 0; b < buckets; ++b) {
    float ms = 0;
    if (s_->recorded[b] && cudaEventElapsedTime(&ms, s_->start[b], s_->done[b]) == cudaSuccess)
      bucket_ms[b] = ms;
    s_->recorded[b] = false;
  }
  // The update reads the averaged gradients on the compute stream.
  check_cuda(cudaEventRecord(s_->ready, s_->stream), "cudaEventRecord");
  check_cuda(cudaStreamWaitEvent(static_cast<cudaStream_t>(ctx_.cuda_stream()), s_->ready, 0),
             "cudaStreamWaitEvent");
}

#else  // !CREMA_WITH_NCCL

struct NcclComm::State {};

NcclComm::NcclComm(Communicator& group, const Context& ctx) : group_(group), ctx_(ctx) {
  throw DeviceError(
      "data-parallel training on GPUs needs NCCL, and this crema was built without it (a CUDA "
      "build finds libnccl in the CUDA toolkit); train on the CPU ranks (no --gpu) or rebuild");
}
NcclComm::~NcclComm() = default;
void* NcclComm::bucket_buffer(int, size_t) { return nullptr; }
void NcclComm::begin_bucket(int) {}
void NcclComm::copy(void*, const void*, size_t) {}
void NcclComm::allreduce_mean(void*, int64_t, CommType) {}
void NcclComm::record_done(int) {}
void NcclComm::finish(int, double*) {}

#endif  // CREMA_WITH_NCCL

}  // namespace crema
