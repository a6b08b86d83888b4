// crema: train, test, time and inspect Crema nets from the command line.
#include <cstdio>
#include <exception>

#include "core/error.h"
#include "ops/registry.h"
#include "tools/commands.h"

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
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help
    std::fprintf(stderr, "crema: error: %s\nRun `crema %s --help` for usage.\n", e.what(),
                 argc > 1 && argv[1][0] != '-' ? argv[1] : "");
    return 1;
  } catch (const crema::Error& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "crema: error: %s\n", e.what());
    return 1;
  } catch (const crema::InternalError& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "crema: %s\nThis is a bug in Crema; please report it.\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "crema: internal error: %s\nThis is a bug in Crema; please report it.\n",
                 e.what());
    return 2;
  }
  return 0;
}
