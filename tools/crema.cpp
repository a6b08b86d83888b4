// crema: train, test, time and inspect Crema nets from the command line.
#include <cstdio>
#include <exception>

#include "core/error.h"
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
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 1;
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
