#include "core/comm.h"

#include <unistd.h>

#include <chrono>
#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>

#include "core/error.h"

#if CREMA_WITH_MPI
#include <mpi.h>
#endif

namespace crema {

namespace {

int env_int(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) return 0;
  char* end = nullptr;
  const long n = std::strtol(v, &end, 10);
  return *end == '\0' && n > 0 && n < (1 << 24) ? static_cast<int>(n) : 0;
}

std::string local_host() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "?";
  return buf;
}

}  // namespace

int launcher_world_size() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "PMI_SIZE",
                           "SLURM_STEP_NUM_TASKS"})
    if (const int n = env_int(name)) return n;
  return 1;
}

struct Communicator::Job {
  enum Kind { kAllreduce, kBroadcast, kAllgather } kind = kAllreduce;
  void* data = nullptr;
  const void* send = nullptr;
  int64_t count = 0;
  CommType type = CommType::kByte;
  int root = 0;
  std::string label;
  std::function<void()> before, after;
};

Communicator::Communicator() : host_(local_host()) {}

// A group of one: a sum or broadcast is the identity, a gather a copy.
void Communicator::run_locally(const Job& job) {
  if (job.before) job.before();
  if (job.kind == Job::kAllgather && job.count > 0)
    std::memcpy(job.data, job.send, job.count);
  if (job.after) job.after();
}

const char* Communicator::transport() const { return mpi_ ? "MPI" : "single process"; }

std::vector<double> Communicator::allgather(const std::vector<double>& values, std::string label) {
  std::vector<double> all(values.size() * world_, 0.0);
  wait(post_allgather(values.data(), all.data(), values.size() * sizeof(double), std::move(label)));
  return all;
}

#if CREMA_WITH_MPI

// Note [Communication thread]
// All MPI calls after MPI_Init come from one thread (MPI_THREAD_MULTIPLE is still requested, since
// MPI_Abort may come from the main thread while the worker is inside a call). Each collective is
// nonblocking and polled, so the worker can watch the clock and the peers' heartbeats: before a
// collective with ticket t it sends t to every peer on a separate communicator; the last value
// seen from each peer says how far that peer got, which names the rank to blame on a timeout.
struct Communicator::Mpi {
  MPI_Comm comm = MPI_COMM_NULL, heartbeat = MPI_COMM_NULL;
  std::thread worker;
  std::mutex mu;
  std::condition_variable cv_job, cv_done;
  std::deque<std::pair<Ticket, Job>> queue;
  Ticket posted = 0, done = 0;
  bool stopping = false;
  bool keepalive = false;
  std::chrono::steady_clock::time_point last_keepalive;
  std::string failure;  // set once; every later wait throws it
  Ticket failed_ticket = 0;
  std::vector<int64_t> hb_in, hb_out, last_seen;
  std::vector<std::chrono::steady_clock::time_point> last_heard;
  std::vector<MPI_Request> hb_recv, hb_send;
};

namespace {

MPI_Datatype mpi_type(CommType t) {
  switch (t) {
    case CommType::kFloat: return MPI_FLOAT;
    case CommType::kDouble: return MPI_DOUBLE;
    case CommType::kByte: break;
  }
  return MPI_BYTE;
}

std::string mpi_error(int code) {
  char buf[MPI_MAX_ERROR_STRING] = {};
  int len = 0;
  MPI_Error_string(code, buf, &len);
  return std::string(buf, len);
}

void check_mpi(int code, const char* call) {
  if (code != MPI_SUCCESS) throw CommError(str_cat(call, " failed: ", mpi_error(code)));
}

}  // namespace

std::unique_ptr<Communicator> Communicator::from_environment() {
  auto c = std::make_unique<Communicator>();
  const int expected = launcher_world_size();
  if (expected <= 1) return c;
  int provided = 0;
  check_mpi(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &provided), "MPI_Init_thread");
  c->mpi_ = std::make_unique<Mpi>();
  Mpi& m = *c->mpi_;
  // Errors come back as codes (reported with the rank) instead of MPI's default abort.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  check_mpi(MPI_Comm_dup(MPI_COMM_WORLD, &m.comm), "MPI_Comm_dup");
  check_mpi(MPI_Comm_dup(MPI_COMM_WORLD, &m.heartbeat), "MPI_Comm_dup");
  MPI_Comm_rank(m.comm, &c->rank_);
  MPI_Comm_size(m.comm, &c->world_);
  MPI_Comm node = MPI_COMM_NULL;
  check_mpi(MPI_Comm_split_type(m.comm, MPI_COMM_TYPE_SHARED, c->rank_, MPI_INFO_NULL, &node),
            "MPI_Comm_split_type");
  MPI_Comm_rank(node, &c->local_rank_);
  MPI_Comm_size(node, &c->local_world_);
  MPI_Comm_free(&node);
  // Without the worker there is no clean way back: report and end the job.
  auto fail = [&](const std::string& why) {
    std::fprintf(stderr, "crema: error: rank %d: %s\n", c->rank_, why.c_str());
    c->abort(1);
  };
  if (provided < MPI_THREAD_MULTIPLE)
    fail(str_cat("the MPI library gives thread level ", provided, " but Crema's communication "
                 "thread needs MPI_THREAD_MULTIPLE (", MPI_THREAD_MULTIPLE, "); use an MPI "
                 "built with thread support"));
  if (c->world_ != expected)
    fail(str_cat("the launcher announced ", expected, " processes but MPI sees ", c->world_,
                 ": under srun, start with `srun --mpi=pmix` so Open MPI finds its peers; with "
                 "mpirun, use the mpirun of the MPI crema was built with"));
  const int peers = c->world_;
  m.hb_in.assign(peers, 0);
  m.hb_out.assign(peers, 0);
  m.last_seen.assign(peers, 0);
  m.last_heard.assign(peers, std::chrono::steady_clock::now());
  m.hb_recv.assign(peers, MPI_REQUEST_NULL);
  m.hb_send.assign(peers, MPI_REQUEST_NULL);
  for (int p = 0; p < peers; ++p)
    if (p != c->rank_) MPI_Irecv(&m.hb_in[p], 1, MPI_INT64_T, p, 0, m.heartbeat, &m.hb_recv[p]);

  Communicator* self = c.get();
  m.worker = std::thread([self] {
    Mpi& m = *self->mpi_;
    using clock = std::chrono::steady_clock;
    // Receives the peers' heartbeats; true when one came from a rank that has not reached
    // collective `t` yet (it is alive, so the wait for it starts over).
    auto poll_heartbeats = [&](Ticket t) {
      bool alive = false;
      for (int p = 0; p < self->world_; ++p) {
        if (m.hb_recv[p] == MPI_REQUEST_NULL) continue;
        int got = 0;
        MPI_Test(&m.hb_recv[p], &got, MPI_STATUS_IGNORE);
        if (!got) continue;
        alive |= m.hb_in[p] < t;
        m.last_seen[p] = std::max(m.last_seen[p], m.hb_in[p]);
        m.last_heard[p] = clock::now();
        MPI_Irecv(&m.hb_in[p], 1, MPI_INT64_T, p, 0, m.heartbeat, &m.hb_recv[p]);
      }
      return alive;
    };
    // Sends `value` to every peer; a peer still holding the last message is behind anyway (a
    // small message completes locally at once), so it simply keeps this rank's older value.
    auto send_heartbeats = [&](Ticket value) {
      for (int p = 0; p < self->world_; ++p) {
        if (p == self->rank_) continue;
        int sent = 1;
        if (m.hb_send[p] != MPI_REQUEST_NULL) MPI_Test(&m.hb_send[p], &sent, MPI_STATUS_IGNORE);
        if (!sent) continue;
        m.hb_out[p] = value;
        MPI_Isend(&m.hb_out[p], 1, MPI_INT64_T, p, 0, m.heartbeat, &m.hb_send[p]);
      }
    };
    for (;;) {
      std::pair<Ticket, Job> item;
      {
        std::unique_lock<std::mutex> lock(m.mu);
        m.cv_job.wait(lock, [&] { return m.stopping || m.keepalive || !m.queue.empty(); });
        if (m.queue.empty() && m.keepalive) {
          m.keepalive = false;
          const Ticket last = m.done;
          lock.unlock();
          send_heartbeats(last);  // "alive, still at my last collective"
          poll_heartbeats(0);
          continue;
        }
        if (m.queue.empty()) return;
        item = std::move(m.queue.front());
        m.queue.pop_front();
        if (!m.failure.empty()) {  // after a failure nothing more is sent; waits throw
          m.done = item.first;
          m.cv_done.notify_all();
          continue;
        }
      }
      const Ticket t = item.first;
      Job& job = item.second;
      auto start = clock::now();
      send_heartbeats(t);
      if (job.before) job.before();
      MPI_Request req = MPI_REQUEST_NULL;
      int rc = MPI_SUCCESS;
      switch (job.kind) {
        case Job::kAllreduce:
          rc = MPI_Iallreduce(MPI_IN_PLACE, job.data, static_cast<int>(job.count),
                              mpi_type(job.type), MPI_SUM, m.comm, &req);
          break;
        case Job::kBroadcast:
          rc = MPI_Ibcast(job.data, static_cast<int>(job.count), MPI_BYTE, job.root, m.comm, &req);
          break;
        case Job::kAllgather:
          rc = MPI_Iallgather(job.send, static_cast<int>(job.count), MPI_BYTE, job.data,
                              static_cast<int>(job.count), MPI_BYTE, m.comm, &req);
          break;
      }
      std::string failure;
      int finished = 0;
      // While waiting, this rank keeps telling its peers it is alive (a frozen rank falls silent).
      const double beat_s = std::min(1.0, self->timeout_s_ / 4);
      auto last_beat = start;
      for (int spins = 0; rc == MPI_SUCCESS; ++spins) {
        rc = MPI_Test(&req, &finished, MPI_STATUS_IGNORE);
        if (poll_heartbeats(t)) start = clock::now();
        if (finished) break;
        const auto now = clock::now();
        if (std::chrono::duration<double>(now - last_beat).count() > beat_s) {
          send_heartbeats(t);
          last_beat = now;
        }
        const double waited = std::chrono::duration<double>(now - start).count();
        if (waited > self->timeout_s_) {
          // To blame: ranks that never reached this collective, or fell silent inside it.
          std::string missing;
          for (int p = 0; p < self->world_; ++p) {
            const double silent = std::chrono::duration<double>(now - m.last_heard[p]).count();
            if (p == self->rank_ || (m.last_seen[p] >= t && silent < 2 * beat_s + 0.5)) continue;
            char ago[32];
            std::snprintf(ago, sizeof ago, "%.1f", silent);
            missing += str_cat(missing.empty() ? "" : ", ", "rank ", p, " (last seen at collective #",
                               m.last_seen[p], ", ", ago, " s ago)");
          }
          failure = str_cat(
              "rank ", self->rank_, ": collective #", t, " (", job.label, ") made no progress for ",
              self->timeout_s_, " s; ",
              missing.empty() ? "every rank is alive and inside it, so the network between the "
                                "ranks failed"
                              : "no word from " + missing + ": that rank died or hangs",
              ". Stopping all ranks; resume from the last snapshot with --snapshot (the limit is "
              "the solver's comm_timeout_s)");
          break;
        }
        // Spin briefly for latency, then sleep so the wait does not take a compute core.
        if (spins > 64) std::this_thread::sleep_for(std::chrono::microseconds(200));
      }
      if (rc != MPI_SUCCESS && failure.empty())
        failure = str_cat("rank ", self->rank_, ": collective #", t, " (", job.label,
                          ") failed: ", mpi_error(rc),
                          "; a peer rank has probably died. Stopping all ranks; resume from the "
                          "last snapshot with --snapshot");
      if (failure.empty() && job.after) job.after();
      std::lock_guard<std::mutex> lock(m.mu);
      if (!failure.empty() && m.failure.empty()) {
        m.failure = failure;
        m.failed_ticket = t;
      }
      m.done = t;
      m.cv_done.notify_all();
    }
  });
  return c;
}

Communicator::~Communicator() {
  if (!mpi_) return;
  Mpi& m = *mpi_;
  bool clean;
  {
    std::lock_guard<std::mutex> lock(m.mu);
    clean = m.failure.empty() && m.done == m.posted;
  }
  if (!clean) {
    // Finalizing would wait for the peers this rank has lost: end the job instead.
    MPI_Abort(MPI_COMM_WORLD, 1);
    std::_Exit(1);
  }
  // A last collective: every heartbeat a peer will ever send is posted before it, so the
  // receives below can drain them.
  Ticket last = 0;
  char token = 0;
  std::vector<char> sink(world_);
  try {
    last = post_allgather(&token, sink.data(), 1, "shutdown");
    wait(last);
  } catch (const Error&) {
    MPI_Abort(MPI_COMM_WORLD, 1);
    std::_Exit(1);
  }
  {
    std::lock_guard<std::mutex> lock(m.mu);
    m.stopping = true;
  }
  m.cv_job.notify_all();
  m.worker.join();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  for (int p = 0; p < world_; ++p) {
    while (m.hb_recv[p] != MPI_REQUEST_NULL && m.last_seen[p] < last &&
           std::chrono::steady_clock::now() < deadline) {
      int got = 0;
      MPI_Test(&m.hb_recv[p], &got, MPI_STATUS_IGNORE);
      if (got) {
        m.last_seen[p] = std::max(m.last_seen[p], m.hb_in[p]);
        if (m.last_seen[p] < last)
          MPI_Irecv(&m.hb_in[p], 1, MPI_INT64_T, p, 0, m.heartbeat, &m.hb_recv[p]);
      }
    }
    if (m.hb_recv[p] != MPI_REQUEST_NULL) {
      MPI_Cancel(&m.hb_recv[p]);
      MPI_Wait(&m.hb_recv[p], MPI_STATUS_IGNORE);
    }
    if (m.hb_send[p] != MPI_REQUEST_NULL) MPI_Wait(&m.hb_send[p], MPI_STATUS_IGNORE);
  }
  MPI_Comm_free(&m.heartbeat);
  MPI_Comm_free(&m.comm);
  MPI_Finalize();
}

Communicator::Ticket Communicator::post(Job job) {
  if (!mpi_) {
    run_locally(job);
    return 0;
  }
  Mpi& m = *mpi_;
  std::lock_guard<std::mutex> lock(m.mu);
  const Ticket t = ++m.posted;
  m.queue.emplace_back(t, std::move(job));
  m.cv_job.notify_one();
  return t;
}

void Communicator::wait(Ticket ticket) {
  if (!mpi_ || ticket <= 0) return;
  Mpi& m = *mpi_;
  std::unique_lock<std::mutex> lock(m.mu);
  // The worker enforces the timeout; the extra margin only guards against a worker stuck
  // inside MPI itself.
  const auto limit = std::chrono::duration<double>(timeout_s_ + 60);
  if (!m.cv_done.wait_for(lock, limit, [&] { return m.done >= ticket; }))
    throw CommError(str_cat("rank ", rank_, ": the communication thread is stuck in MPI (no "
                            "answer for ", timeout_s_ + 60, " s); stopping all ranks"));
  if (!m.failure.empty() && ticket >= m.failed_ticket) throw CommError(m.failure);
}

void Communicator::keepalive() {
  if (!mpi_) return;
  Mpi& m = *mpi_;
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard<std::mutex> lock(m.mu);
  if (now - m.last_keepalive < std::chrono::seconds(1)) return;
  m.last_keepalive = now;
  m.keepalive = true;
  m.cv_job.notify_one();
}

void Communicator::abort(int code) {
  std::fflush(stdout);
  std::fflush(stderr);
  if (mpi_) MPI_Abort(MPI_COMM_WORLD, code);
  std::_Exit(code);
}

#else  // !CREMA_WITH_MPI

struct Communicator::Mpi {};

std::unique_ptr<Communicator> Communicator::from_environment() {
  const int expected = launcher_world_size();
  if (expected > 1)
    throw ConfigError(str_cat("the launcher started ", expected,
                              " processes, but this crema was built without MPI, so they cannot "
                              "train together; install libopenmpi-dev, reconfigure (cmake finds "
                              "it), rebuild, and launch again"));
  return std::make_unique<Communicator>();
}

Communicator::~Communicator() = default;

Communicator::Ticket Communicator::post(Job job) {
  run_locally(job);
  return 0;
}

void Communicator::wait(Ticket) {}

void Communicator::keepalive() {}

void Communicator::abort(int code) {
  std::fflush(stdout);
  std::fflush(stderr);
  std::_Exit(code);
}

#endif  // CREMA_WITH_MPI

Communicator::Ticket Communicator::post_allreduce_sum(void* data, int64_t count, CommType type,
                                                      std::string label,
                                                      std::function<void()> before,
                                                      std::function<void()> after) {
  return post({.kind = Job::kAllreduce, .data = data, .count = count, .type = type,
               .label = std::move(label), .before = std::move(before), .after = std::move(after)});
}

Communicator::Ticket Communicator::post_broadcast(void* data, int64_t bytes, int root,
                                                  std::string label) {
  return post({.kind = Job::kBroadcast, .data = data, .count = bytes, .root = root,
               .label = std::move(label), .before = {}, .after = {}});
}

Communicator::Ticket Communicator::post_allgather(const void* send, void* recv, int64_t bytes,
                                                  std::string label) {
  return post({.kind = Job::kAllgather, .data = recv, .send = send, .count = bytes,
               .label = std::move(label), .before = {}, .after = {}});
}

}  // namespace crema
