// crema forward / weights / device_query / layers.
#include <cblas.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <thread>

#include "core/cuda_device.h"
#include "core/net.h"
#include "ops/registry.h"
#include "tools/commands.h"

namespace crema::cli {
namespace fs = std::filesystem;
namespace {

// Blob and layer names may hold characters that are not safe in file names.
std::string file_stem(const std::string& name) {
  std::string s = name;
  for (char& c : s)
    if (c == '/' || c == '\\' || c == ' ' || c == ':') c = '_';
  return s;
}

void ensure_dir(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  CREMA_CHECK_AS(DataError, fs::is_directory(dir, ec), "cannot create directory ", dir,
                 ec ? ": " + ec.message() : "");
}

template <class T>
void set_from_npy(Tensor<T>* t, const NpyArray& a, bool diff, bool reshape,
                  const std::string& what) {
  if (reshape) {
    t->reshape(a.shape);
  } else if (t->shape() != a.shape) {
    throw ShapeError(str_cat(what, ": the .npy has shape ", shape_string(a.shape),
                             ", the blob is ", t->shape_string()));
  }
  T* p = diff ? t->mutable_cpu_diff() : t->mutable_cpu_data();
  for (int64_t i = 0; i < t->count(); ++i) p[i] = static_cast<T>(a.data[i]);
}

}  // namespace

void register_forward(CLI::App& app) {
  struct Opts {
    std::string model, weights, dump, phase = "TEST";
    std::vector<std::string> inputs, top_diffs;
    bool backward = false;
    DeviceOptions dev;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = app.add_subcommand(
      "forward", "Run one pass on .npy inputs and write every blob (and diff) as .npy");
  cmd->add_option("--model", o->model, "Net prototxt")->required();
  cmd->add_option("--weights", o->weights, "Weights (.caffemodel); default: the fillers");
  cmd->add_option("--input", o->inputs, "blob=file.npy (repeatable); reshapes the blob");
  cmd->add_option("--dump", o->dump, "Directory for <blob>.npy files")->required();
  cmd->add_flag("--backward", o->backward,
                "Also run backward and write <blob>.diff.npy and <layer>.<i>.diff.npy");
  cmd->add_option("--top-diff", o->top_diffs, "blob=file.npy: gradient seeded into a blob")
      ->needs(cmd->get_option("--backward"));
  cmd->add_option("--phase", o->phase, "TRAIN or TEST (default TEST)");
  add_device_options(cmd, &o->dev);
  cmd->callback([o] {
    Context ctx = make_context(o->dev);
    NetParameter np;
    TextLocations where;
    read_text_proto(o->model, &np, &where);
    if (o->backward) np.set_force_backward(true);
    NetState state;
    if (o->phase != "TEST" && o->phase != "TRAIN")
      throw ConfigError(str_cat("--phase must be TRAIN or TEST, got '", o->phase, "'"));
    state.set_phase(o->phase == "TRAIN" ? TRAIN : TEST);
    Net<float> net(np, ctx, state, &where);
    net.set_memory_reuse(false);  // every blob is written out, so none may share a buffer
    if (!o->weights.empty()) net.copy_trained_layers_from(o->weights, true);
    for (const auto& [blob, file] : parse_assignments(o->inputs, "--input")) {
      Tensor<float>* t = net.blob_by_name(blob).get();  // unknown names fail before file I/O
      set_from_npy(t, read_npy(file), false, true, str_cat("--input ", blob, "=", file));
    }
    if (!o->inputs.empty()) net.reshape();
    const float loss = net.forward();
    ensure_dir(o->dump);
    std::set<std::string> written;
    for (size_t i = 0; i < net.blobs().size(); ++i)
      if (written.insert(file_stem(net.blob_names()[i])).second)
        write_npy(str_cat(o->dump, "/", file_stem(net.blob_names()[i]), ".npy"), *net.blobs()[i]);
    std::printf("forward: loss %.6g; wrote %zu blobs to %s\n", loss, written.size(),
                o->dump.c_str());
    if (!o->backward) return;
    // Seed: loss blobs keep their loss weight (set by forward); given blobs take the file.
    for (const auto& [blob, file] : parse_assignments(o->top_diffs, "--top-diff")) {
      Tensor<float>* t = net.blob_by_name(blob).get();
      set_from_npy(t, read_npy(file), true, false, str_cat("--top-diff ", blob, "=", file));
    }
    net.clear_param_diffs();
    net.backward();
    for (size_t i = 0; i < net.blobs().size(); ++i)
      write_npy(str_cat(o->dump, "/", file_stem(net.blob_names()[i]), ".diff.npy"),
                *net.blobs()[i], true);
    size_t params = 0;
    for (size_t l = 0; l < net.layers().size(); ++l) {
      const auto& blobs = net.layers()[l]->blobs();
      for (size_t k = 0; k < blobs.size(); ++k, ++params) {
        const std::string stem = str_cat(o->dump, "/", file_stem(net.layer_names()[l]), ".", k);
        write_npy(stem + ".npy", *blobs[k]);
        write_npy(stem + ".diff.npy", *blobs[k], true);
      }
    }
    std::printf("backward: wrote %zu blob diffs and %zu parameter diffs to %s\n",
                net.blobs().size(), params, o->dump.c_str());
  });
}

void register_weights(CLI::App& app) {
  struct Opts {
    std::string model, weights, export_dir, import_dir, output;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = app.add_subcommand(
      "weights", "Export weights to <layer>.<index>.npy files, or import them into a weights file");
  auto* ex = cmd->add_option("--export", o->export_dir, "Write --weights' blobs as .npy here");
  auto* im = cmd->add_option("--import", o->import_dir, "Read <layer>.<index>.npy files from here");
  ex->excludes(im);
  cmd->add_option("--weights", o->weights, "Weights file to export (.caffemodel)");
  cmd->add_option("--model", o->model, "Net prototxt whose parameters --import fills");
  cmd->add_option("--output", o->output, "Weights file that --import writes");
  cmd->callback([o, cmd] {
    if (!o->export_dir.empty()) {
      CREMA_CHECK_AS(ConfigError, !o->weights.empty(), "weights --export needs --weights FILE");
      NetParameter w;
      read_checksummed_proto(o->weights, &w);
      ensure_dir(o->export_dir);
      size_t n = 0;
      auto dump = [&](const std::string& layer, const auto& blobs) {
        for (int k = 0; k < blobs.size(); ++k, ++n) {
          Tensor<float> t;
          t.from_proto(blobs.Get(k));
          write_npy(str_cat(o->export_dir, "/", file_stem(layer), ".", k, ".npy"), t);
        }
      };
      for (const auto& l : w.layer()) dump(l.name(), l.blobs());
      for (const auto& l : w.layers()) dump(l.name(), l.blobs());
      std::printf("exported %zu blobs to %s\n", n, o->export_dir.c_str());
    } else if (!o->import_dir.empty()) {
      CREMA_CHECK_AS(ConfigError, !o->model.empty() && !o->output.empty(),
                     "weights --import needs --model NET.prototxt and --output FILE");
      Context ctx = Context::cpu(1);
      Net<float> net(o->model, ctx, TEST);
      size_t n = 0;
      for (size_t l = 0; l < net.layers().size(); ++l) {
        const auto& blobs = net.layers()[l]->blobs();
        for (size_t k = 0; k < blobs.size(); ++k, ++n) {
          const std::string f =
              str_cat(o->import_dir, "/", file_stem(net.layer_names()[l]), ".", k, ".npy");
          CREMA_CHECK_AS(DataError, file_exists(f), "missing ", f, " for layer '",
                         net.layer_names()[l], "' parameter ", k, " (shape ",
                         blobs[k]->shape_string(), ")");
          set_from_npy(blobs[k].get(), read_npy(f), false, false,
                       str_cat("layer '", net.layer_names()[l], "' parameter ", k, " from ", f));
        }
      }
      NetParameter out;
      net.to_proto(&out);
      write_checksummed_proto(o->output, &out);
      std::printf("imported %zu blobs into %s\n", n, o->output.c_str());
    } else {
      throw ConfigError(str_cat("weights needs --export DIR or --import DIR\n", cmd->help()));
    }
  });
}

void register_device_query(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand("device_query", "Show the CPU and any CUDA devices");
  cmd->callback([] {
    std::string model = "unknown";
    std::ifstream cpuinfo("/proc/cpuinfo");
    for (std::string line; std::getline(cpuinfo, line);)
      if (line.rfind("model name", 0) == 0) {
        model = line.substr(line.find(':') + 2);
        break;
      }
    std::printf("CPU: %s\n  hardware threads: %d\n  BLAS: %s\n", model.c_str(),
                hardware_threads(), openblas_get_config());
    if (!cuda_built()) {
      std::printf("CUDA: not available: this build has no CUDA support (CREMA_CUDA=OFF or nvcc "
                  "not found); `--gpu` is refused\n");
      return;
    }
    std::string archs;
    for (int a : cuda_built_architectures()) archs += str_cat(archs.empty() ? "" : ", ", "sm_", a);
    std::printf("CUDA: built for %s\n", archs.c_str());
    std::string why;
    const std::vector<CudaDeviceInfo> devs = cuda_devices(&why);
    if (devs.empty()) {
      std::printf("  no usable device: %s; `--gpu` is refused\n", why.c_str());
      return;
    }
    const std::vector<int> built = cuda_built_architectures();
    for (const CudaDeviceInfo& d : devs) {
      std::printf("  GPU %d: %s, compute capability %d.%d, %d SMs, %.1f GiB (%.1f GiB free)%s\n",
                  d.id, d.name.c_str(), d.cc_major, d.cc_minor, d.multiprocessors,
                  d.total_bytes / 1073741824.0, d.free_bytes / 1073741824.0,
                  cuda_arch_runs_on(built, d.cc_major, d.cc_minor)
                      ? ""
                      : " - not usable: its architecture was not built");
    }
  });
}

void register_layers(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand("layers", "List the layer types Crema knows");
  cmd->callback([] {
    for (const auto& t : layer_types()) std::printf("%s\n", t.c_str());
  });
}

}  // namespace crema::cli
