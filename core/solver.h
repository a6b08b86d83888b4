/// Solver<T>: trains a net with SGD, Nesterov, AdaGrad, RMSProp, AdaDelta, Adam or AdamW;
/// learning-rate policies, tests, snapshots and exact resume.
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/grad_sync.h"
#include "cuda_kernels/solver_update.h"
#include "core/net.h"

namespace crema {

/// Result of one test pass: the mean of every output blob of a test net.
struct TestResult {
  int net_index = 0;
  int iteration = 0;
  std::vector<std::string> names;
  std::vector<double> means;
  double loss = 0;  ///< weighted test loss (when test_compute_loss)
};

template <class T>
class Solver {
 public:
  /// Builds the train and test nets. `solver_path` resolves relative net paths.
  Solver(const SolverParameter& param, Context& ctx, const std::string& solver_path = "");
  /// Reads a solver prototxt.
  Solver(const std::string& solver_path, Context& ctx);

  /// Trains until max_iter (or a stop request). Snapshots per `snapshot` and at the end.
  void solve();
  /// Runs `iters` iterations (each: iter_size forward/backward passes and one update).
  void step(int iters);
  /// Runs every test net for its test_iter batches.
  std::vector<TestResult> test_all();
  /// Writes <prefix>_iter_<N>.caffemodel and .solverstate atomically; returns the state path.
  std::string snapshot();
  /// Resumes from a .solverstate (weights file found beside it); checksums verified.
  void restore(const std::string& state_path);

  /// Learning rate at iteration `it` under the solver's policy and warm-up.
  double learning_rate(int it) const;
  int iter() const { return iter_; }
  Net<T>& net() { return *net_; }
  std::vector<std::unique_ptr<Net<T>>>& test_nets() { return test_nets_; }
  const SolverParameter& param() const { return param_; }
  /// Loss of each iteration run so far in this process (for tests and the CLI).
  const std::vector<double>& loss_history() const { return loss_history_; }

  /// When set (e.g. by SIGINT), training snapshots after the current iteration and returns.
  void set_stop_flag(const std::atomic<bool>* flag) { stop_flag_ = flag; }
  /// Receives progress and test lines; defaults to stdout.
  void set_logger(std::function<void(const std::string&)> log) { log_ = std::move(log); }
  bool stopped_early() const { return stopped_early_; }
  /// The data-parallel gradient exchange (null in a single process).
  const GradientSync<T>* gradient_sync() const { return sync_.get(); }

 private:
  void init();
  void apply_update();
  /// The update of learnable parameter k on the device (solver kind as its enum value).
  void update_on_gpu(int kind, const kernels::UpdateArgs& a, size_t k);
  /// Data-parallel start: every rank takes rank 0's weights, histories and iteration.
  void broadcast_state();
  /// After each iteration's backward: every rank's loss and stop request; throws on a
  /// non-finite loss anywhere (naming the ranks) when stop_on_nan. Returns the mean loss.
  double agree_on_step(double loss, bool* stop);
  bool root() const { return comm_ == nullptr || comm_->is_root(); }
  void log(const std::string& line) const;
  std::string progress_line(double smoothed, double rate, double its) const;

  SolverParameter param_;
  std::string solver_path_;
  Context& ctx_;
  std::unique_ptr<Net<T>> net_;
  std::vector<std::unique_ptr<Net<T>>> test_nets_;
  std::vector<std::map<std::string, std::string>> test_start_states_;
  std::vector<std::unique_ptr<Tensor<T>>> history_, history2_;
  int iter_ = 0;
  std::deque<double> loss_window_;
  std::vector<double> loss_history_;
  const std::atomic<bool>* stop_flag_ = nullptr;
  bool stopped_early_ = false;
  std::function<void(const std::string&)> log_;
  std::chrono::steady_clock::time_point start_time_;
  int start_iter_ = 0;
  Communicator* comm_ = nullptr;  // set when training over several ranks
  std::unique_ptr<GradientSync<T>> sync_;
};

/// Validates solver parameters (base_lr, policies, types, test_iter...) with clear messages.
void check_solver_param(const SolverParameter& param, const std::string& where);

}  // namespace crema
