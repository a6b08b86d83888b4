#include "core/solver.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <numbers>

#include "core/gpu_blas.h"
#include "core/parallel.h"
#include "cuda_kernels/solver_update.h"

namespace crema {
namespace fs = std::filesystem;

namespace {

enum class Kind { kSGD, kNesterov, kAdaGrad, kRMSProp, kAdaDelta, kAdam, kAdamW };

Kind solver_kind(const SolverParameter& p) {
  std::string t = p.type();
  if (!p.has_type() && p.has_solver_type()) {
    static const char* legacy[] = {"SGD", "Nesterov", "AdaGrad", "RMSProp", "AdaDelta", "Adam"};
    t = legacy[p.solver_type()];
  }
  if (t == "SGD") return Kind::kSGD;
  if (t == "Nesterov") return Kind::kNesterov;
  if (t == "AdaGrad") return Kind::kAdaGrad;
  if (t == "RMSProp") return Kind::kRMSProp;
  if (t == "AdaDelta") return Kind::kAdaDelta;
  if (t == "Adam") return Kind::kAdam;
  if (t == "AdamW") return Kind::kAdamW;
  throw ConfigError(str_cat("unknown solver type '", t,
                            "'; known: SGD, Nesterov, AdaGrad, RMSProp, AdaDelta, Adam, AdamW"));
}

bool two_histories(Kind k) { return k == Kind::kAdaDelta || k == Kind::kAdam || k == Kind::kAdamW; }

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const long s = std::lround(seconds);
  if (s >= 3600) return str_cat(s / 3600, "h", (s % 3600) / 60, "m");
  if (s >= 60) return str_cat(s / 60, "m", s % 60, "s");
  return str_cat(s, "s");
}

std::string fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

}  // namespace

void check_solver_param(const SolverParameter& p, const std::string& where) {
  const std::string at = where.empty() ? "solver: " : where + ": ";
  auto fail = [&](const std::string& msg) { throw ConfigError(at + msg); };
  solver_kind(p);
  if (!p.has_base_lr()) fail("base_lr is not set; add e.g. `base_lr: 0.01`");
  if (!(p.base_lr() >= 0) || !std::isfinite(p.base_lr()))
    fail(str_cat("base_lr must be a finite value >= 0, got ", p.base_lr()));
  if (p.max_iter() < 0) fail(str_cat("max_iter must be >= 0, got ", p.max_iter()));
  if (p.iter_size() < 1) fail(str_cat("iter_size must be >= 1, got ", p.iter_size()));
  if (p.average_loss() < 1) fail(str_cat("average_loss must be >= 1, got ", p.average_loss()));
  if (p.display() < 0) fail(str_cat("display must be >= 0, got ", p.display()));
  if (p.snapshot() < 0) fail(str_cat("snapshot must be >= 0, got ", p.snapshot()));
  if (p.test_interval() < 0) fail(str_cat("test_interval must be >= 0, got ", p.test_interval()));
  for (int t : p.test_iter())
    if (t <= 0) fail(str_cat("test_iter must be > 0, got ", t));
  if (p.momentum() < 0 || p.momentum() >= 1)
    fail(str_cat("momentum must be in [0, 1), got ", p.momentum()));
  if (p.weight_decay() < 0) fail(str_cat("weight_decay must be >= 0, got ", p.weight_decay()));
  if (p.regularization_type() != "L2" && p.regularization_type() != "L1")
    fail(str_cat("regularization_type must be L1 or L2, got '", p.regularization_type(), "'"));
  if (p.warmup_iter() < 0) fail(str_cat("warmup_iter must be >= 0, got ", p.warmup_iter()));
  const std::string policy = p.has_lr_policy() ? p.lr_policy() : "fixed";
  if (policy == "step" || policy == "sigmoid") {
    if (policy == "step" && p.stepsize() <= 0)
      fail(str_cat("lr_policy \"step\" needs stepsize > 0, got ", p.stepsize()));
    if (!p.has_gamma()) fail("lr_policy \"" + policy + "\" needs gamma");
  } else if (policy == "exp" || policy == "inv") {
    if (!p.has_gamma()) fail("lr_policy \"" + policy + "\" needs gamma");
    if (policy == "inv" && !p.has_power()) fail("lr_policy \"inv\" needs power");
  } else if (policy == "multistep") {
    if (p.stepvalue_size() == 0) fail("lr_policy \"multistep\" needs stepvalue entries");
    if (!p.has_gamma()) fail("lr_policy \"multistep\" needs gamma");
    for (int i = 1; i < p.stepvalue_size(); ++i)
      if (p.stepvalue(i) <= p.stepvalue(i - 1)) fail("stepvalue entries must increase");
  } else if (policy == "poly" || policy == "cosine") {
    if (p.max_iter() <= 0) fail("lr_policy \"" + policy + "\" needs max_iter > 0");
    if (policy == "poly" && !p.has_power()) fail("lr_policy \"poly\" needs power");
  } else if (policy != "fixed") {
    fail(str_cat("unknown lr_policy \"", policy,
                 "\"; known: fixed, step, multistep, exp, inv, poly, sigmoid, cosine"));
  }
}

template <class T>
Solver<T>::Solver(const SolverParameter& param, Context& ctx, const std::string& solver_path)
    : param_(param), solver_path_(solver_path), ctx_(ctx) {
  init();
}

template <class T>
Solver<T>::Solver(const std::string& solver_path, Context& ctx)
    : solver_path_(solver_path), ctx_(ctx) {
  read_text_proto(solver_path, &param_);
  init();
}

template <class T>
void Solver<T>::log(const std::string& line) const {
  if (!root()) return;  // one log for the whole data-parallel job
  if (log_) {
    log_(line);
  } else {
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
  }
}

template <class T>
void Solver<T>::init() {
  check_solver_param(param_, solver_path_);
  if (ctx_.comm && ctx_.comm->multi()) {
    comm_ = ctx_.comm;
    CREMA_CHECK_AS(ConfigError, param_.comm_timeout_s() > 0, solver_path_,
                   ": comm_timeout_s must be > 0, got ", param_.comm_timeout_s());
    CREMA_CHECK_AS(ConfigError, param_.grad_bucket_mb() > 0, solver_path_,
                   ": grad_bucket_mb must be > 0, got ", param_.grad_bucket_mb());
    comm_->set_timeout(param_.comm_timeout_s());
  }
  if (param_.random_seed() >= 0) ctx_.seed = static_cast<uint64_t>(param_.random_seed());
  else ctx_.seed = static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  // Every rank draws the same weights, data order and augmentation from rank 0's seed.
  if (comm_) comm_->broadcast(&ctx_.seed, sizeof ctx_.seed, 0, "random seed");

  auto load_net = [&](const std::string& file, NetParameter* np, TextLocations* where) {
    read_text_proto(resolve_path(file, solver_path_), np, where);
  };
  // The train net: exactly one of train_net_param, train_net, net_param, net.
  const int sources = param_.has_train_net_param() + param_.has_train_net() +
                      param_.has_net_param() + param_.has_net();
  CREMA_CHECK_AS(ConfigError, sources == 1, solver_path_.empty() ? "solver" : solver_path_, ": ",
                 sources == 0 ? "no net given; set `net: \"train_val.prototxt\"`"
                              : "give only one of net, net_param, train_net, train_net_param");
  NetParameter train_param;
  TextLocations train_where;
  TextLocations* tw = nullptr;
  if (param_.has_train_net_param()) {
    train_param = param_.train_net_param();
  } else if (param_.has_net_param()) {
    train_param = param_.net_param();
  } else {
    load_net(param_.has_train_net() ? param_.train_net() : param_.net(), &train_param,
             &train_where);
    tw = &train_where;
  }
  NetState train_state = param_.train_state();
  train_state.set_phase(TRAIN);
  net_ = std::make_unique<Net<T>>(train_param, ctx_, train_state, tw);

  // Test nets: explicit ones first, then instances of the generic net (as Caffe).
  std::vector<std::pair<NetParameter, TextLocations>> tests;
  for (const auto& np : param_.test_net_param()) tests.push_back({np, {}});
  for (const auto& f : param_.test_net()) {
    tests.emplace_back();
    load_net(f, &tests.back().first, &tests.back().second);
  }
  const int explicit_tests = static_cast<int>(tests.size());
  const bool generic = param_.has_net() || param_.has_net_param();
  if (generic) {
    for (int i = explicit_tests; i < param_.test_iter_size(); ++i) {
      tests.emplace_back();
      if (param_.has_net_param())
        tests.back().first = param_.net_param();
      else
        load_net(param_.net(), &tests.back().first, &tests.back().second);
    }
  }
  CREMA_CHECK_AS(ConfigError, static_cast<int>(tests.size()) == param_.test_iter_size(),
                 solver_path_, ": ", param_.test_iter_size(), " test_iter value(s) for ",
                 tests.size(), " test net(s); give one test_iter per test net");
  CREMA_CHECK_AS(ConfigError, param_.test_state_size() == 0 ||
                                  param_.test_state_size() == static_cast<int>(tests.size()),
                 solver_path_, ": ", param_.test_state_size(), " test_state entries for ",
                 tests.size(), " test nets");
  if (param_.test_interval() > 0 && tests.empty())
    log("note: test_interval is set but there is no test net (add test_iter)");
  for (size_t i = 0; i < tests.size(); ++i) {
    NetState st = param_.test_state_size() ? param_.test_state(static_cast<int>(i)) : NetState();
    st.set_phase(TEST);
    const TextLocations* w = tests[i].second.file.empty() ? nullptr : &tests[i].second;
    test_nets_.push_back(std::make_unique<Net<T>>(tests[i].first, ctx_, st, w));
    test_nets_.back()->share_trained_layers_with(*net_);
    test_start_states_.push_back(test_nets_.back()->save_layer_states());
  }
  if (comm_) {
    bool sharded = false;
    for (const auto& layer : net_->layers()) sharded |= layer->set_shard(comm_->rank(), comm_->world());
    if (!sharded)
      log("note: the train net has no Data layer, so every rank trains on the same input");
    sync_ = std::make_unique<GradientSync<T>>(
        *net_, *comm_, static_cast<size_t>(param_.grad_bucket_mb()) * 1048576);
  }
  const Kind kind = solver_kind(param_);
  for (Tensor<T>* p : net_->learnable_params()) {
    history_.push_back(std::make_unique<Tensor<T>>(p->shape()));
    if (two_histories(kind)) history2_.push_back(std::make_unique<Tensor<T>>(p->shape()));
  }
}

template <class T>
double Solver<T>::learning_rate(int it) const {
  const double base = param_.base_lr();
  const std::string policy = param_.has_lr_policy() ? param_.lr_policy() : "fixed";
  double rate = base;
  if (policy == "step") {
    rate = base * std::pow(param_.gamma(), it / param_.stepsize());
  } else if (policy == "exp") {
    rate = base * std::pow(param_.gamma(), it);
  } else if (policy == "inv") {
    rate = base * std::pow(1.0 + param_.gamma() * it, -param_.power());
  } else if (policy == "multistep") {
    int step = 0;
    while (step < param_.stepvalue_size() && it >= param_.stepvalue(step)) ++step;
    rate = base * std::pow(param_.gamma(), step);
  } else if (policy == "poly") {
    const double frac = std::min(1.0, static_cast<double>(it) / param_.max_iter());
    rate = std::max<double>(param_.min_lr(), base * std::pow(1.0 - frac, param_.power()));
  } else if (policy == "sigmoid") {
    rate = base / (1.0 + std::exp(-param_.gamma() * (it - param_.stepsize())));
  } else if (policy == "cosine") {
    const double frac = std::min(1.0, static_cast<double>(it) / param_.max_iter());
    rate = param_.min_lr() + (base - param_.min_lr()) * 0.5 * (1 + std::cos(std::numbers::pi * frac));
  }
  if (it < param_.warmup_iter()) {
    const double start = param_.warmup_start_factor();
    rate *= start + (1.0 - start) * it / param_.warmup_iter();
  }
  return rate;
}

template <class T>
void Solver<T>::apply_update() {
  const auto& params = net_->learnable_params();
  const auto& lrs = net_->params_lr();
  const auto& decays = net_->params_weight_decay();
  const double rate = learning_rate(iter_);
  // On a GPU context the gradients, weights and histories stay on the device.
  const bool gpu = ctx_.on_gpu();
  auto scale_diff = [&](Tensor<T>* p, T s) {
    if (gpu) gpu_scal<T>(ctx_, p->count(), s, p->mutable_gpu_diff(ctx_));
    else p->scale_diff(s);
  };
  if (param_.iter_size() > 1)
    for (Tensor<T>* p : params) scale_diff(p, T(1) / param_.iter_size());
  // Clip the global gradient norm (after iter_size normalisation, so the threshold does not
  // depend on how the batch was split).
  if (param_.clip_gradients() >= 0) {
    double sumsq = 0;
    for (Tensor<T>* p : params)
      sumsq += gpu ? gpu_dot<T>(ctx_, p->count(), p->gpu_diff(ctx_), p->gpu_diff(ctx_))
                   : p->sumsq_diff();
    const double norm = std::sqrt(sumsq);
    if (norm > param_.clip_gradients())
      for (Tensor<T>* p : params) scale_diff(p, static_cast<T>(param_.clip_gradients() / norm));
  }
  const Kind kind = solver_kind(param_);
  kernels::UpdateArgs a{};
  a.momentum = param_.momentum();
  a.momentum2 = param_.momentum2();
  a.rms_decay = param_.rms_decay();
  a.delta = param_.delta();
  a.l1 = param_.regularization_type() == "L1";
  const double t = iter_ + 1.0;
  if (kind == Kind::kAdam || kind == Kind::kAdamW) {
    a.momentum = param_.has_momentum() ? param_.momentum() : 0.9;
    a.adam_correction = (std::sqrt(1 - std::pow(a.momentum2, t)) /
                                           (1 - std::pow(a.momentum, t)));
  }
  if (kind == Kind::kAdaDelta && !param_.has_momentum()) a.momentum = 0.95;
  for (size_t k = 0; k < params.size(); ++k) {
    if (lrs[k] == 0) continue;  // frozen
    a.rate = rate * lrs[k];
    a.decay = param_.weight_decay() * decays[k];
    const int64_t n = params[k]->count();
    if (gpu) {
      update_on_gpu(static_cast<int>(kind), a, k);
      continue;
    }
    T* w = params[k]->mutable_cpu_data();
    const T* g = params[k]->cpu_diff();
    T* h = history_[k]->mutable_cpu_data();
    T* h2 = history2_.empty() ? nullptr : history2_[k]->mutable_cpu_data();
    switch (kind) {
      case Kind::kSGD:
        parallel_for(ctx_, n, [&](int64_t i) { kernels::sgd_update(i, a, w, g, h); });
        break;
      case Kind::kNesterov:
        parallel_for(ctx_, n, [&](int64_t i) { kernels::nesterov_update(i, a, w, g, h); });
        break;
      case Kind::kAdaGrad:
        parallel_for(ctx_, n, [&](int64_t i) { kernels::adagrad_update(i, a, w, g, h); });
        break;
      case Kind::kRMSProp:
        parallel_for(ctx_, n, [&](int64_t i) { kernels::rmsprop_update(i, a, w, g, h); });
        break;
      case Kind::kAdaDelta:
        parallel_for(ctx_, n, [&](int64_t i) { kernels::adadelta_update(i, a, w, g, h, h2); });
        break;
      case Kind::kAdam:
      case Kind::kAdamW: {
        const bool decoupled = kind == Kind::kAdamW;
        parallel_for(ctx_, n,
                     [&](int64_t i) { kernels::adam_update(i, a, decoupled, w, g, h, h2); });
        break;
      }
    }
  }
}

template <class T>
void Solver<T>::update_on_gpu(int kind_id, const kernels::UpdateArgs& a, size_t k) {
#if CREMA_WITH_CUDA
  const Kind kind = static_cast<Kind>(kind_id);
  Tensor<T>& p = *net_->learnable_params()[k];
  const cuda::Stream s = ctx_.cuda_stream();
  const int64_t n = p.count();
  T* w = p.mutable_gpu_data(ctx_);
  const T* g = p.gpu_diff(ctx_);
  T* h = history_[k]->mutable_gpu_data(ctx_);
  T* h2 = history2_.empty() ? nullptr : history2_[k]->mutable_gpu_data(ctx_);
  switch (kind) {
    case Kind::kSGD: cuda::launch_sgd_update<T>(s, n, a, w, g, h); break;
    case Kind::kNesterov: cuda::launch_nesterov_update<T>(s, n, a, w, g, h); break;
    case Kind::kAdaGrad: cuda::launch_adagrad_update<T>(s, n, a, w, g, h); break;
    case Kind::kRMSProp: cuda::launch_rmsprop_update<T>(s, n, a, w, g, h); break;
    case Kind::kAdaDelta: cuda::launch_adadelta_update<T>(s, n, a, w, g, h, h2); break;
    case Kind::kAdam:
    case Kind::kAdamW:
      cuda::launch_adam_update<T>(s, n, a, kind == Kind::kAdamW, w, g, h, h2);
      break;
  }
#else
  throw DeviceError("GPU solver update in a build without CUDA");
#endif
}

template <class T>
std::string Solver<T>::progress_line(double smoothed, double rate, double its) const {
  const int max_iter = param_.max_iter();
  const double eta = its > 0 ? (max_iter - iter_) / its : -1;
  return str_cat("iter ", iter_, "/", max_iter, "  loss ", fmt(smoothed), "  lr ", fmt(rate), "  ",
                 fmt(its), " it/s  ETA ", format_duration(eta));
}

template <class T>
void Solver<T>::step(int iters) {
  const int stop_iter = iter_ + iters;
  start_time_ = std::chrono::steady_clock::now();
  start_iter_ = iter_;
  while (iter_ < stop_iter) {
    if (param_.test_interval() > 0 && iter_ % param_.test_interval() == 0 &&
        (iter_ > 0 || param_.test_initialization()) && !test_nets_.empty())
      test_all();
    net_->clear_param_diffs();
    double loss = 0;
    for (int k = 0; k < param_.iter_size(); ++k) {
      // Only the last pass's backward finishes the gradients that are exchanged.
      if (sync_ && k + 1 == param_.iter_size()) sync_->begin_backward();
      loss += net_->forward_backward();
    }
    if (sync_) sync_->finish();
    loss /= param_.iter_size();
    bool stop = stop_flag_ && stop_flag_->load();
    if (comm_) loss = agree_on_step(loss, &stop);
    if (!std::isfinite(loss) && param_.stop_on_nan())
      throw NumericError(str_cat("loss is ", loss, " at iteration ", iter_,
                                 "; training stopped. Lower base_lr (now ",
                                 param_.base_lr(), "), add clip_gradients, or check the input "
                                 "data; the last snapshot is intact"));
    loss_history_.push_back(loss);
    loss_window_.push_back(loss);
    while (static_cast<int>(loss_window_.size()) > param_.average_loss()) loss_window_.pop_front();
    if (param_.display() > 0 && iter_ % param_.display() == 0) {
      double smoothed = 0;
      for (double l : loss_window_) smoothed += l;
      smoothed /= loss_window_.size();
      // Speed over the last display interval: it tracks the machine's current load.
      const auto now = std::chrono::steady_clock::now();
      const double secs = std::chrono::duration<double>(now - start_time_).count();
      const double its = iter_ > start_iter_ && secs > 0 ? (iter_ - start_iter_) / secs : 0;
      start_time_ = now;
      start_iter_ = iter_;
      log(progress_line(smoothed, learning_rate(iter_), its));
    }
    apply_update();
    ++iter_;
    if (param_.snapshot() > 0 && iter_ % param_.snapshot() == 0) {
      snapshot();
    } else if (stop) {
      snapshot();
    }
    if (stop) {
      stopped_early_ = true;
      log(str_cat("stopped at iteration ", iter_, " on request; resume with --snapshot"));
      return;
    }
  }
}

template <class T>
double Solver<T>::agree_on_step(double loss, bool* stop) {
  const std::vector<double> all =
      comm_->allgather({loss, *stop ? 1.0 : 0.0}, str_cat("loss of iteration ", iter_));
  double sum = 0;
  std::string bad;
  for (int r = 0; r < comm_->world(); ++r) {
    sum += all[2 * r];
    *stop |= all[2 * r + 1] != 0;
    if (!std::isfinite(all[2 * r]))
      bad += str_cat(bad.empty() ? "" : ", ", "rank ", r, " (",
                     std::isnan(all[2 * r]) ? "nan" : all[2 * r] > 0 ? "inf" : "-inf", ")");
  }
  if (!bad.empty() && param_.stop_on_nan()) {
    comm_->mark_failure_agreed();  // every rank saw the same losses and stops here
    throw NumericError(str_cat("loss is not finite on ", bad, " at iteration ", iter_,
                               "; all ranks stopped before the update. Lower base_lr (now ",
                               param_.base_lr(), "), add clip_gradients, or check that rank's "
                               "data shard; the last snapshot is intact"));
  }
  return sum / comm_->world();
}

template <class T>
void Solver<T>::broadcast_state() {
  for (Tensor<T>* p : net_->learnable_params())
    comm_->broadcast(p->mutable_cpu_data(), p->count() * sizeof(T), 0, "initial weights");
  for (auto* hs : {&history_, &history2_})
    for (auto& h : *hs)
      comm_->broadcast(h->mutable_cpu_data(), h->count() * sizeof(T), 0, "solver history");
  comm_->broadcast(&iter_, sizeof iter_, 0, "iteration");
  // Data cursors and RNG counters: rank 0's are authoritative (only rank 0 reads a snapshot).
  SolverState layers;
  for (const auto& [layer, st] : net_->save_layer_states()) {
    LayerState* ls = layers.add_layer_state();
    ls->set_layer(layer);
    ls->set_state(st);
  }
  std::string bytes = layers.SerializeAsString();
  int64_t size = static_cast<int64_t>(bytes.size());
  comm_->broadcast(&size, sizeof size, 0, "layer state size");
  bytes.resize(size);
  comm_->broadcast(bytes.data(), size, 0, "layer states");
  CREMA_CHECK_AS(CommError, layers.ParseFromString(bytes), "rank ", comm_->rank(),
                 ": the layer states broadcast by rank 0 do not parse");
  std::map<std::string, std::string> states;
  for (const auto& ls : layers.layer_state()) states[ls.layer()] = ls.state();
  net_->load_layer_states(states);
}

template <class T>
void Solver<T>::solve() {
  log(str_cat("solving ", net_->name().empty() ? "net" : net_->name(), " with ",
              param_.has_type() ? param_.type() : "SGD", " from iteration ", iter_, " to ",
              param_.max_iter()));
  if (comm_) {
    broadcast_state();
    int64_t batch = 0;
    for (size_t i = 0; i < net_->layers().size() && batch == 0; ++i)
      if (!net_->top_vecs()[i].empty() && net_->layers()[i]->type() == std::string("Data"))
        batch = net_->top_vecs()[i][0]->shape(0);
    const std::string per_rank = batch > 0 ? str_cat("batch ", batch) : "its batch";
    log(str_cat("data-parallel: ", comm_->world(), " ranks x ", per_rank, " x iter_size ",
                param_.iter_size(),
                batch > 0 ? str_cat(" = global batch ", batch * comm_->world() * param_.iter_size())
                          : std::string(),
                " per update; gradients in ", sync_->plan().buckets.size(), " bucket(s) of <= ",
                param_.grad_bucket_mb(), " MB averaged with ", comm_->transport(),
                "; rank 0 logs, tests and snapshots"));
  }
  step(param_.max_iter() - iter_);
  if (sync_) log(sync_->report());
  if (stopped_early_) return;
  if (param_.snapshot_after_train() && (param_.snapshot() == 0 || iter_ % param_.snapshot() != 0))
    snapshot();
  if (param_.test_interval() > 0 && iter_ % param_.test_interval() == 0 && !test_nets_.empty())
    test_all();
  log("optimization done");
}

template <class T>
std::vector<TestResult> Solver<T>::test_all() {
  std::vector<TestResult> results;
  if (!root()) return results;  // rank 0 tests on its own copy of the (identical) weights
  for (size_t n = 0; n < test_nets_.size(); ++n) {
    Net<T>& tn = *test_nets_[n];
    // Every test pass scores the same batches (data cursors back to their start), so results at
    // different iterations, and from `crema test`, compare like with like.
    tn.load_layer_states(test_start_states_[n]);
    TestResult r;
    r.net_index = static_cast<int>(n);
    r.iteration = iter_;
    const auto& outs = tn.output_blob_indices();
    std::vector<double> sums(outs.size(), 0.0);
    const int iters = param_.test_iter(static_cast<int>(n));
    for (int k = 0; k < iters; ++k) {
      if (comm_) comm_->keepalive();  // the other ranks wait meanwhile
      const T loss = tn.forward();
      if (param_.test_compute_loss()) r.loss += loss;
      for (size_t j = 0; j < outs.size(); ++j) {
        const Tensor<T>& b = *tn.blobs()[outs[j]];
        double s = 0;
        for (int64_t e = 0; e < b.count(); ++e) s += b.cpu_data()[e];
        sums[j] += b.count() ? s / b.count() : 0.0;
      }
    }
    std::string line = str_cat("test net ", n, " @ iter ", iter_, ":");
    for (size_t j = 0; j < outs.size(); ++j) {
      r.names.push_back(tn.blob_names()[outs[j]]);
      r.means.push_back(sums[j] / iters);
      line += str_cat("  ", r.names.back(), " = ", fmt(r.means.back()));
      const T w = tn.blob_loss_weight(outs[j]);
      if (w != T(0)) line += str_cat(" (x", fmt(w), ")");
    }
    if (param_.test_compute_loss()) {
      r.loss /= iters;
      line += str_cat("  loss = ", fmt(r.loss));
    }
    log(line);
    results.push_back(std::move(r));
  }
  return results;
}

template <class T>
std::string Solver<T>::snapshot() {
  if (!root()) return {};  // the weights are identical on every rank
  std::string prefix = param_.snapshot_prefix();
  if (prefix.empty())
    prefix = solver_path_.empty() ? "crema" : fs::path(solver_path_).replace_extension().string();
  const fs::path dir = fs::path(prefix).parent_path();
  std::error_code ec;
  if (!dir.empty()) fs::create_directories(dir, ec);
  const std::string model_path = str_cat(prefix, "_iter_", iter_, ".caffemodel");
  const std::string state_path = str_cat(prefix, "_iter_", iter_, ".solverstate");
  if (comm_) comm_->keepalive();
  NetParameter weights;
  net_->to_proto(&weights, param_.snapshot_diff());
  write_checksummed_proto(model_path, &weights);
  if (comm_) comm_->keepalive();

  SolverState state;
  state.set_iter(iter_);
  state.set_learned_net(model_path);
  int step = 0;
  while (step < param_.stepvalue_size() && iter_ >= param_.stepvalue(step)) ++step;
  state.set_current_step(step);
  for (const auto& h : history_) h->to_proto(state.add_history());
  for (const auto& h : history2_) h->to_proto(state.add_history());
  for (const auto& [layer, s] : net_->save_layer_states()) {
    LayerState* ls = state.add_layer_state();
    ls->set_layer(layer);
    ls->set_state(s);
  }
  for (double l : loss_window_) state.add_loss_window(static_cast<float>(l));
  write_checksummed_proto(state_path, &state);
  log(str_cat("snapshot: ", model_path, ", ", state_path));
  return state_path;
}

template <class T>
void Solver<T>::restore(const std::string& state_path) {
  SolverState state;
  read_checksummed_proto(state_path, &state);
  std::string model = state.learned_net();
  std::error_code ec;
  if (!fs::exists(model, ec))
    model = (fs::path(state_path).parent_path() / fs::path(model).filename()).string();
  CREMA_CHECK_AS(DataError, fs::exists(model, ec), state_path, ": its weights file '",
                 state.learned_net(), "' is missing (looked beside the state file too)");
  net_->copy_trained_layers_from(model, true);
  const size_t expected = history_.size() + history2_.size();
  CREMA_CHECK_AS(DataError, static_cast<size_t>(state.history_size()) == expected, state_path,
                 ": holds ", state.history_size(), " history blobs but solver type '",
                 param_.has_type() ? param_.type() : "SGD", "' needs ", expected,
                 "; resume with the solver that wrote it");
  for (size_t k = 0; k < expected; ++k) {
    Tensor<T>& h = k < history_.size() ? *history_[k] : *history2_[k - history_.size()];
    try {
      h.from_proto(state.history(static_cast<int>(k)), false);
    } catch (...) {
      rethrow_with_context(str_cat(state_path, ": history blob ", k, ": "));
    }
  }
  std::map<std::string, std::string> layer_states;
  for (const auto& ls : state.layer_state()) layer_states[ls.layer()] = ls.state();
  net_->load_layer_states(layer_states);
  iter_ = state.iter();
  loss_window_.assign(state.loss_window().begin(), state.loss_window().end());
  log(str_cat("resumed from ", state_path, " at iteration ", iter_));
}

CREMA_INSTANTIATE_CLASS(Solver);

}  // namespace crema
