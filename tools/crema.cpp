// crema: train, test, time and inspect Crema nets from the command line.
#include <cstdio>
#include <exception>
#include <memory>

#include "core/error.h"
#include "ops/registry.h"
#include "tools/commands.h"

namespace {
std::unique_ptr<crema::Communicator> g_group;
}  // namespace

crema::Communicator& crema::cli::process_group() {
  if (!g_group) g_group = std::make_unique<crema::Communicator>();
  return *g_group;
}

namespace {

// "crema: error: " once per process; ranks of a data-parallel job say which they are.
std::string error_prefix() {
  if (!g_group || !g_group->multi()) return "crema: ";
  return crema::str_cat("crema (rank ", g_group->rank(), "/", g_group->world(), "): ");
}

// An error every rank agreed on is reported once, by rank 0.
bool quiet_rank() { return g_group && g_group->failure_agreed() && !g_group->is_root(); }

// An error on one rank of a data-parallel job ends them all (the others would wait for it),
// unless all ranks stop together.
int finish(int code) {
  std::fflush(stdout);
  std::fflush(stderr);
  if (code != 0 && g_group && g_group->multi() && !g_group->failure_agreed()) g_group->abort(code);
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Crema: a deep-learning framework for computer-vision research (Caffe-compatible "
               "prototxt and weights).",
               "crema"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Show the help of every subcommand");
  crema::cli::register_train(app);
  crema::cli::register_test(app);
  crema::cli::register_time(app);
  crema::cli::register_forward(app);
  crema::cli::register_weights(app);
  crema::cli::register_convert(app);
  crema::cli::register_device_query(app);
  crema::cli::register_layers(app);
  crema::cli::register_sr_eval(app);
  // An unknown command gets the nearest known one, not CLI11's generic message.
  if (argc > 1 && argv[1][0] != '-') {
    std::string best;
    size_t best_d = SIZE_MAX;
    bool known = false;
    for (const CLI::App* sub : app.get_subcommands({})) {
      known |= sub->get_name() == argv[1];
      const size_t d = crema::edit_distance(argv[1], sub->get_name());
      if (d < best_d) best_d = d, best = sub->get_name();
    }
    if (!known) {
      std::fprintf(stderr, "crema: error: unknown command '%s'; did you mean '%s'? Run `crema --help` "
                   "for the list of commands.\n", argv[1], best.c_str());
      return 1;
    }
  }
  try {
    // Under mpirun / srun this joins the job (MPI_Init); otherwise a group of one.
    g_group = crema::Communicator::from_environment();
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help
    std::fprintf(stderr, "%serror: %s\nRun `crema %s --help` for usage.\n", error_prefix().c_str(),
                 e.what(), argc > 1 && argv[1][0] != '-' ? argv[1] : "");
    return finish(1);
  } catch (const crema::Error& e) {
    std::fflush(stdout);
    if (!quiet_rank()) std::fprintf(stderr, "%serror: %s\n", error_prefix().c_str(), e.what());
    return finish(1);
  } catch (const crema::InternalError& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "%s%s\nThis is a bug in Crema; please report it.\n",
                 error_prefix().c_str(), e.what());
    return finish(2);
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "%sinternal error: %s\nThis is a bug in Crema; please report it.\n",
                 error_prefix().c_str(), e.what());
    return finish(2);
  }
  return finish(0);
}
