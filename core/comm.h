/// Communicator: the process group of data-parallel training (DESIGN §4). One process per device,
/// started by mpirun or srun; MPI gives the ranks, carries the CPU collectives and broadcasts
/// NCCL's id. Every collective runs on one communication thread in the order it was posted, and
/// every rank posts the same sequence, so collectives match across ranks without tags.
///
/// Faults: each posted collective carries a sequence number that the rank also sends to its peers
/// as a heartbeat. A collective that makes no progress for timeout() seconds fails with a
/// CommError naming the ranks that never reached it (dead or hung); the CLI then ends the whole
/// job (abort()), so no rank waits forever.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace crema {

enum class CommType { kFloat, kDouble, kByte };

template <class T>
constexpr CommType comm_type();
template <>
constexpr CommType comm_type<float>() { return CommType::kFloat; }
template <>
constexpr CommType comm_type<double>() { return CommType::kDouble; }

/// The number of processes the launcher (mpirun, srun) says this job has; 1 when not launched
/// by one. Reads OMPI_COMM_WORLD_SIZE, PMIX_SIZE / PMI_SIZE and srun's SLURM_STEP_NUM_TASKS.
int launcher_world_size();

class Communicator {
 public:
  using Ticket = int64_t;

  /// A group of one process: collectives are identities and complete at once.
  Communicator();
  /// Joins the MPI job when the launcher started several processes (launcher_world_size() > 1);
  /// otherwise a group of one. Throws ConfigError when several are asked for but this build has
  /// no MPI, CommError when MPI cannot start.
  static std::unique_ptr<Communicator> from_environment();
  /// Finalizes MPI after a clean run; after a failure (or with collectives still pending) it
  /// aborts the job instead, since finalizing would wait for the failed peers.
  ~Communicator();
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  int rank() const { return rank_; }
  int world() const { return world_; }
  /// Rank and number of ranks on this node (shared memory): the GPU to use, thread budgets.
  int local_rank() const { return local_rank_; }
  int local_world() const { return local_world_; }
  const std::string& host() const { return host_; }
  bool is_root() const { return rank_ == 0; }
  bool multi() const { return world_ > 1; }
  /// "MPI" or "single process".
  const char* transport() const;

  /// Seconds a collective may make no progress before it fails (solver's comm_timeout_s).
  void set_timeout(double seconds) { timeout_s_ = seconds; }
  double timeout() const { return timeout_s_; }

  /// Posts an in-place sum over all ranks of `count` values at `data`. `before` and `after` run on
  /// the communication thread just before and after the reduction (packing and unpacking a
  /// gradient bucket); `label` names the collective in error messages.
  Ticket post_allreduce_sum(void* data, int64_t count, CommType type, std::string label,
                            std::function<void()> before = {}, std::function<void()> after = {});
  /// Posts a broadcast of `bytes` at `data` from rank `root`.
  Ticket post_broadcast(void* data, int64_t bytes, int root, std::string label);
  /// Posts an all-gather: `recv` receives world() blocks of `bytes`, block r from rank r.
  Ticket post_allgather(const void* send, void* recv, int64_t bytes, std::string label);
  /// Waits for a posted collective (and all before it); throws CommError on a failure.
  void wait(Ticket ticket);

  template <class T>
  void allreduce_sum(T* data, int64_t count, std::string label) {
    wait(post_allreduce_sum(data, count, comm_type<T>(), std::move(label)));
  }
  void broadcast(void* data, int64_t bytes, int root, std::string label) {
    wait(post_broadcast(data, bytes, root, std::move(label)));
  }
  /// Every rank's `values` (the same count on each), rank 0's first.
  std::vector<double> allgather(const std::vector<double>& values, std::string label);

  /// Tells the peers this rank is alive though it posts no collective for a while (rank 0
  /// testing or writing a snapshot), so their waits do not time out. Cheap; call it often.
  void keepalive();

  /// Records that every rank is failing the same way at the same point (e.g. a loss agreed to be
  /// non-finite): they can all exit cleanly, and only rank 0 needs to report it.
  void mark_failure_agreed() { failure_agreed_ = true; }
  bool failure_agreed() const { return failure_agreed_; }

  /// Ends every rank of the job with exit code `code` (MPI_Abort); plain exit for one process.
  [[noreturn]] void abort(int code);

 private:
  struct Job;
  struct Mpi;
  Ticket post(Job job);
  static void run_locally(const Job& job);

  int rank_ = 0, world_ = 1, local_rank_ = 0, local_world_ = 1;
  std::string host_;
  std::atomic<double> timeout_s_{300};  // read by the communication thread
  bool failure_agreed_ = false;
  std::unique_ptr<Mpi> mpi_;  // null for a group of one
};

}  // namespace crema
