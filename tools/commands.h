/// The `crema` CLI's subcommands: each registers its options and a runner on the CLI11 app.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "core/comm.h"
#include "core/context.h"

namespace crema::cli {

/// Options every compute subcommand takes.
struct DeviceOptions {
  std::string gpu;  ///< "" = CPU; "0" or "0,1"
  int threads = 0;  ///< CPU threads, 0 = all cores
};

void add_device_options(CLI::App* cmd, DeviceOptions* opt);
/// Builds the Context for the options; `--gpu` on a build or machine without CUDA is an error.
/// Under mpirun / srun the context joins the process group: `--gpu 0,1` gives each rank the id
/// at its local rank, and the default thread count is the node's cores shared among its ranks.
Context make_context(const DeviceOptions& opt);

/// This process's data-parallel group (set up by main; a group of one unless launched by
/// mpirun or srun).
Communicator& process_group();

void register_train(CLI::App& app);
void register_test(CLI::App& app);
void register_time(CLI::App& app);
void register_forward(CLI::App& app);
void register_weights(CLI::App& app);
void register_convert(CLI::App& app);
void register_device_query(CLI::App& app);
void register_layers(CLI::App& app);
void register_sr_eval(CLI::App& app);

/// Parses "name=path" pairs.
std::vector<std::pair<std::string, std::string>> parse_assignments(
    const std::vector<std::string>& items, const char* option);

}  // namespace crema::cli
