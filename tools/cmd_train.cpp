// crema train / test / time.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <memory>
#include <sstream>

#include <unistd.h>

#include "core/net.h"
#include "core/solver.h"
#include "core/timer.h"
#include "tools/commands.h"

namespace crema::cli {
namespace {

std::atomic<bool> g_stop{false};

extern "C" void on_stop_signal(int sig) {
  if (g_stop.exchange(true)) {
    // A second signal: the user insists; leave now with the default action.
    std::signal(sig, SIG_DFL);
    std::raise(sig);
  }
}

std::string mb(size_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MB", bytes / 1048576.0);
  return buf;
}

template <class T>
void print_memory(const Net<T>& net, const char* what) {
  std::printf("%s net '%s': %zu layers, %zu blobs, parameters %s, activations %s", what,
              net.name().c_str(), net.layers().size(), net.blobs().size(),
              mb(net.param_bytes()).c_str(), mb(net.activation_bytes()).c_str());
  if (net.memory_reuse())
    std::printf(" (buffers reused; %s without reuse)",
                mb(net.activation_bytes_without_reuse()).c_str());
  std::printf("\n");
}

Phase parse_phase(const std::string& s) {
  if (s == "TRAIN" || s == "train") return TRAIN;
  if (s == "TEST" || s == "test") return TEST;
  throw ConfigError(str_cat("--phase must be TRAIN or TEST, got '", s, "'"));
}

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

// Bytes of the parameter gradients the solver updates (learnable, lr_mult != 0), per layer. A
// blob shared by name counts once, at the layer that owns it (the first to declare it): that is
// the one gradient buffer a data-parallel reduction sends.
template <class T>
std::vector<size_t> learnable_grad_bytes(const Net<T>& net) {
  std::map<const Tensor<T>*, float> lr;
  for (size_t j = 0; j < net.learnable_params().size(); ++j)
    lr[net.learnable_params()[j]] = net.params_lr()[j];
  std::vector<size_t> bytes(net.layers().size(), 0);
  for (size_t i = 0; i < net.layers().size(); ++i)
    for (const auto& b : net.layers()[i]->blobs()) {
      const auto it = lr.find(b.get());
      if (it != lr.end() && it->second != 0) bytes[i] += sizeof(T) * b->count();
    }
  return bytes;
}

}  // namespace

void add_device_options(CLI::App* cmd, DeviceOptions* opt) {
  cmd->add_option("--gpu", opt->gpu,
                  "CUDA device id to run on (e.g. 0; see device_query); under mpirun or srun one "
                  "per rank on a node, e.g. 0,1,2,3; default: the CPU");
  cmd->add_option("--threads", opt->threads, "CPU threads (0 = all cores)")
      ->check(CLI::NonNegativeNumber);
}

Context make_context(const DeviceOptions& opt) {
  Communicator& group = process_group();
  // Ranks on one node share its cores rather than each taking all of them.
  int threads = opt.threads;
  if (threads == 0 && group.local_world() > 1)
    threads = std::max(1, hardware_threads() / group.local_world());
  Context ctx;
  if (opt.gpu.empty()) {
    ctx = Context::cpu(threads);
  } else {
    const std::vector<std::string> ids = split_commas(opt.gpu);
    CREMA_CHECK_AS(ConfigError, !ids.empty(), "--gpu '", opt.gpu, "': expected a device id");
    if (ids.size() > 1) {
      CREMA_CHECK_AS(ConfigError, group.multi(), "--gpu ", opt.gpu,
                     ": one process drives one GPU; start one process per GPU, e.g. `mpirun -np ",
                     ids.size(), " crema train --solver ... --gpu ", opt.gpu,
                     "` (or srun): each rank takes the id at its local rank");
      CREMA_CHECK_AS(ConfigError, group.local_rank() < static_cast<int>(ids.size()), "--gpu ",
                     opt.gpu, " lists ", ids.size(), " device(s) but this node runs ",
                     group.local_world(), " ranks (this is local rank ", group.local_rank(),
                     "); list one id per rank on the node");
    }
    const std::string& mine = ids.size() > 1 ? ids[group.local_rank()] : ids[0];
    int id = -1;
    try {
      size_t used = 0;
      id = std::stoi(mine, &used);
      if (used != mine.size()) id = -1;
    } catch (const std::exception&) {
      id = -1;
    }
    CREMA_CHECK_AS(ConfigError, id >= 0, "--gpu ", opt.gpu,
                   ": expected a device id (a number >= 0, or one per rank such as 0,1; see "
                   "`crema device_query`)");
    ctx = Context::gpu(id, threads);
  }
  ctx.comm = &group;
  return ctx;
}

std::vector<std::pair<std::string, std::string>> parse_assignments(
    const std::vector<std::string>& items, const char* option) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& it : items) {
    const size_t eq = it.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == it.size())
      throw ConfigError(str_cat(option, " expects blob=file.npy, got '", it, "'"));
    out.emplace_back(it.substr(0, eq), it.substr(eq + 1));
  }
  return out;
}

void register_train(CLI::App& app) {
  struct Opts {
    std::string solver, weights, snapshot;
    DeviceOptions dev;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = app.add_subcommand("train", "Train a net with a solver prototxt");
  cmd->add_option("--solver", o->solver, "Solver prototxt")->required();
  auto* w = cmd->add_option("--weights", o->weights,
                            "Initial weights (.caffemodel), comma-separated; layers whose shapes "
                            "differ are skipped and reported (fine-tuning)");
  cmd->add_option("--snapshot", o->snapshot, "Resume from a .solverstate")->excludes(w);
  add_device_options(cmd, &o->dev);
  cmd->callback([o] {
    SolverParameter sp;
    read_text_proto(o->solver, &sp);
    if (sp.has_solver_mode() && sp.solver_mode() == SolverParameter::GPU && o->dev.gpu.empty())
      std::printf("note: the solver asks for solver_mode: GPU; training on the CPU (pass --gpu N "
                  "to use a GPU)\n");
    // The solver's `threads` applies unless --threads was given (also on a GPU context).
    DeviceOptions dev = o->dev;
    if (sp.threads() > 0 && dev.threads == 0) dev.threads = sp.threads();
    Context ctx = make_context(dev);
    const Communicator& group = process_group();
    const std::string device = ctx.on_gpu() ? str_cat("GPU ", ctx.device) : std::string("CPU");
    // Every rank says where it runs (and its pid, to find a stuck one); the rest is rank 0's.
    if (group.multi()) {
      std::printf("rank %d of %d (local %d of %d) on %s, pid %d: %s, %d thread(s)\n", group.rank(),
                  group.world(), group.local_rank(), group.local_world(), group.host().c_str(),
                  static_cast<int>(getpid()), device.c_str(), ctx.threads);
      std::fflush(stdout);
    }
    Solver<float> solver(sp, ctx, o->solver);
    if (group.is_root()) {
      std::printf("device: %s, %d thread(s); seed %llu\n", device.c_str(), ctx.threads,
                  static_cast<unsigned long long>(ctx.seed));
      print_memory(solver.net(), "train");
      for (size_t i = 0; i < solver.test_nets().size(); ++i)
        print_memory(*solver.test_nets()[i], "test");
      // Rank 0 alone reads the weights or snapshot; solve() hands them to the other ranks.
      for (const auto& wf : split_commas(o->weights)) {
        const WeightsReport r = solver.net().copy_trained_layers_from(wf, false);
        std::printf("weights %s: %s\n", wf.c_str(), r.summary().c_str());
      }
      if (!o->snapshot.empty()) solver.restore(o->snapshot);
    }
    std::signal(SIGINT, on_stop_signal);
    std::signal(SIGTERM, on_stop_signal);
    solver.set_stop_flag(&g_stop);
    solver.solve();
  });
}

void register_test(CLI::App& app) {
  struct Opts {
    std::string model, weights, phase = "TEST";
    int iterations = 50;
    DeviceOptions dev;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = app.add_subcommand("test", "Score a trained model: mean of each output blob");
  cmd->add_option("--model", o->model, "Net prototxt")->required();
  cmd->add_option("--weights", o->weights, "Trained weights (.caffemodel)")->required();
  cmd->add_option("--iterations", o->iterations, "Number of batches")->check(CLI::PositiveNumber);
  cmd->add_option("--phase", o->phase, "TRAIN or TEST");
  add_device_options(cmd, &o->dev);
  cmd->callback([o] {
    Context ctx = make_context(o->dev);
    Net<float> net(o->model, ctx, parse_phase(o->phase));
    print_memory(net, "test");
    net.copy_trained_layers_from(o->weights, true);
    const auto& outs = net.output_blob_indices();
    std::vector<double> sums(outs.size(), 0.0);
    double loss_sum = 0;
    for (int it = 0; it < o->iterations; ++it) {
      loss_sum += net.forward();
      std::string line = str_cat("batch ", it + 1, "/", o->iterations, ":");
      for (size_t j = 0; j < outs.size(); ++j) {
        const Tensor<float>& b = *net.blobs()[outs[j]];
        double s = 0;
        for (int64_t e = 0; e < b.count(); ++e) s += b.cpu_data()[e];
        const double mean = b.count() ? s / b.count() : 0.0;
        sums[j] += mean;
        line += str_cat(" ", net.blob_names()[outs[j]], "=", mean);
      }
      if ((it + 1) % 10 == 0 || it + 1 == o->iterations) std::printf("%s\n", line.c_str());
    }
    for (size_t j = 0; j < outs.size(); ++j)
      std::printf("%s = %.6g\n", net.blob_names()[outs[j]].c_str(), sums[j] / o->iterations);
    std::printf("weighted total loss = %.6g\n", loss_sum / o->iterations);
  });
}

void register_time(CLI::App& app) {
  struct Opts {
    std::string model, phase = "TRAIN", format = "table";
    int iterations = 50;
    DeviceOptions dev;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = app.add_subcommand("time", "Time each layer's forward and backward pass");
  cmd->add_option("--model", o->model, "Net prototxt")->required();
  cmd->add_option("--iterations", o->iterations, "Timed iterations")->check(CLI::PositiveNumber);
  cmd->add_option("--phase", o->phase, "TRAIN or TEST");
  cmd->add_option("--format", o->format,
                  "table, or csv: one line per layer (name,type,forward_ms,backward_ms,"
                  "grad_bytes) after a header line, nothing else on stdout")
      ->check(CLI::IsMember({"table", "csv"}));
  add_device_options(cmd, &o->dev);
  cmd->callback([o] {
    Context ctx = make_context(o->dev);
    NetParameter np;
    TextLocations where;
    read_text_proto(o->model, &np, &where);
    np.set_force_backward(true);  // time every layer's backward, as Caffe's `time` does
    NetState state;
    state.set_phase(parse_phase(o->phase));
    Net<float> net(np, ctx, state, &where);
    const bool csv = o->format == "csv";
    if (!csv) {
      print_memory(net, "timed");
      std::printf("timing: %s\n", ctx.on_gpu() ? "CUDA events on the device's stream (device time)"
                                                : "the CPU's steady clock");
    }
    const size_t n = net.layers().size();
    const std::vector<size_t> grad = learnable_grad_bytes(net);
    std::vector<double> fwd(n, 0), bwd(n, 0);
    // CUDA events on a GPU context: each layer's device time, not its launch time.
    StreamTimer layer_timer(ctx), total_timer(ctx);
    net.forward_backward();  // warm-up
    total_timer.start();
    for (int it = 0; it < o->iterations; ++it) {
      for (size_t i = 0; i < n; ++i) {
        layer_timer.start();
        try {
          net.layers()[i]->forward(ctx, net.bottom_vecs()[i], net.top_vecs()[i]);
        } catch (...) {
          rethrow_with_context(net.layer_where(static_cast<int>(i)));
        }
        layer_timer.stop();
        fwd[i] += layer_timer.elapsed_ms();
      }
      for (size_t i = n; i-- > 0;) {
        if (!net.layer_need_backward(static_cast<int>(i))) continue;
        layer_timer.start();
        try {
          net.layers()[i]->backward(ctx, net.top_vecs()[i],
                                    net.bottom_need_backward(static_cast<int>(i)),
                                    net.bottom_vecs()[i]);
        } catch (...) {
          rethrow_with_context(net.layer_where(static_cast<int>(i)));
        }
        layer_timer.stop();
        bwd[i] += layer_timer.elapsed_ms();
      }
    }
    total_timer.stop();
    const double total = total_timer.elapsed_ms();
    if (csv) {
      // RFC 4180 quoting, for layer names with commas or quotes.
      auto field = [](const std::string& s) {
        if (s.find_first_of(",\"\n") == std::string::npos) return s;
        std::string q = "\"";
        for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
        return q + "\"";
      };
      std::printf("name,type,forward_ms,backward_ms,grad_bytes\n");
      for (size_t i = 0; i < n; ++i)
        std::printf("%s,%s,%.6f,%.6f,%zu\n", field(net.layer_names()[i]).c_str(),
                    field(net.layers()[i]->type()).c_str(), fwd[i] / o->iterations,
                    bwd[i] / o->iterations, grad[i]);
      return;
    }
    std::printf("%-28s %-18s %12s %12s %14s\n", "layer", "type", "forward ms", "backward ms",
                "grad bytes");
    double tf = 0, tb = 0;
    size_t tg = 0;
    for (size_t i = 0; i < n; ++i) {
      std::printf("%-28s %-18s %12.4f %12.4f %14zu\n", net.layer_names()[i].c_str(),
                  net.layers()[i]->type(), fwd[i] / o->iterations, bwd[i] / o->iterations, grad[i]);
      tf += fwd[i], tb += bwd[i], tg += grad[i];
    }
    std::printf("%-47s %12.4f %12.4f %14zu\n", "total per iteration", tf / o->iterations,
                tb / o->iterations, tg);
    std::printf("forward-backward: %.4f ms per iteration over %d iterations (%.1f it/s)\n",
                total / o->iterations, o->iterations, 1000.0 * o->iterations / total);
  });
}

}  // namespace crema::cli
