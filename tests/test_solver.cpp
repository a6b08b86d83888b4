// Solvers: update rules against independent formulas, LR policies, iter_size, clipping, NaN
// stop, snapshots (checksummed, atomic) and bit-exact resume.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "core/gpu_blas.h"
#include "core/io.h"
#include "core/solver.h"
#include "tests/cuda_test_util.h"
#include "tests/test_util.h"

namespace crema {
namespace {

namespace fs = std::filesystem;

const char* kNet = R"(
name: "tiny"
layer { name: "in" type: "Input" top: "x" top: "y"
        input_param { shape { dim: 4 dim: 3 } shape { dim: 4 dim: 2 } } }
layer { name: "ip" type: "InnerProduct" bottom: "x" top: "o" param { lr_mult: 1 decay_mult: 1 }
        param { lr_mult: 2 decay_mult: 0 }
        inner_product_param { num_output: 2 weight_filler { type: "gaussian" std: 0.5 }
                              bias_filler { type: "gaussian" std: 0.5 } } }
layer { name: "loss" type: "EuclideanLoss" bottom: "o" bottom: "y" top: "loss" }
)";

SolverParameter make_param(const std::string& extra, const char* net = kNet) {
  // Defaults first; `extra` overrides them field by field.
  SolverParameter p, over;
  parse_text_proto("base_lr: 0.1 max_iter: 100 random_seed: 5 lr_policy: \"fixed\"", "solver", &p);
  parse_text_proto(extra, "solver", &over);
  p.MergeFrom(over);
  parse_text_proto(net, "net", p.mutable_net_param());
  return p;
}

void set_inputs(Net<double>& net) {
  test::fill_uniform(*net.blob_by_name("x"), -1, 1, 11);
  test::fill_uniform(*net.blob_by_name("y"), -1, 1, 12);
}

// One reference step for parameter values w with gradient g (already including nothing else).
struct RefState {
  std::vector<double> h, h2;
};

void ref_step(const std::string& type, const SolverParameter& p, int t, double rate, double decay,
              std::vector<double>& w, const std::vector<double>& g, RefState& s) {
  if (s.h.empty()) s.h.assign(w.size(), 0), s.h2.assign(w.size(), 0);
  const double m = p.momentum(), eps = p.delta();
  for (size_t i = 0; i < w.size(); ++i) {
    double gi = g[i];
    if (type != "AdamW") gi += decay * w[i];
    if (type == "SGD") {
      s.h[i] = m * s.h[i] + rate * gi;
      w[i] -= s.h[i];
    } else if (type == "Nesterov") {
      const double prev = s.h[i];
      s.h[i] = m * prev + rate * gi;
      w[i] -= (1 + m) * s.h[i] - m * prev;
    } else if (type == "AdaGrad") {
      s.h[i] += gi * gi;
      w[i] -= rate * gi / (std::sqrt(s.h[i]) + eps);
    } else if (type == "RMSProp") {
      s.h[i] = p.rms_decay() * s.h[i] + (1 - p.rms_decay()) * gi * gi;
      w[i] -= rate * gi / (std::sqrt(s.h[i]) + eps);
    } else if (type == "AdaDelta") {
      s.h[i] = m * s.h[i] + (1 - m) * gi * gi;
      const double u = gi * std::sqrt(s.h2[i] + eps) / std::sqrt(s.h[i] + eps);
      s.h2[i] = m * s.h2[i] + (1 - m) * u * u;
      w[i] -= rate * u;
    } else {  // Adam / AdamW, bias-corrected
      const double b1 = m, b2 = p.momentum2();
      s.h[i] = b1 * s.h[i] + (1 - b1) * gi;
      s.h2[i] = b2 * s.h2[i] + (1 - b2) * gi * gi;
      const double mhat = s.h[i] / (1 - std::pow(b1, t)), vhat = s.h2[i] / (1 - std::pow(b2, t));
      // Caffe's form: rate * sqrt(1-b2^t)/(1-b1^t) * m / (sqrt(v) + eps)
      const double step = rate * mhat / (std::sqrt(vhat) + eps / std::sqrt(1 - std::pow(b2, t)));
      w[i] -= step + (type == "AdamW" ? rate * decay * w[i] : 0.0);
    }
  }
}

class SolverRule : public ::testing::TestWithParam<const char*> {};

TEST_P(SolverRule, MatchesIndependentFormula) {
  const std::string type = GetParam();
  std::string extra = "type: \"" + type + "\" weight_decay: 0.01 ";
  if (type == "SGD" || type == "Nesterov") extra += "momentum: 0.9 ";
  if (type == "AdaDelta") extra += "momentum: 0.95 delta: 1e-6 base_lr: 1.0 ";
  if (type == "Adam" || type == "AdamW") extra += "momentum: 0.9 momentum2: 0.999 ";
  SolverParameter p = make_param(extra);
  Context ctx = Context::cpu(1);
  Solver<double> solver(p, ctx);
  solver.set_logger([](const std::string&) {});
  Net<double>& net = solver.net();
  set_inputs(net);
  std::vector<std::vector<double>> w(2);
  std::vector<RefState> st(2);
  for (int k = 0; k < 2; ++k)
    w[k].assign(net.learnable_params()[k]->cpu_data(),
                net.learnable_params()[k]->cpu_data() + net.learnable_params()[k]->count());
  for (int t = 1; t <= 4; ++t) {
    // Gradient at the current weights, from the net (its correctness is tested elsewhere).
    net.clear_param_diffs();
    net.forward_backward();
    std::vector<std::vector<double>> g(2);
    for (int k = 0; k < 2; ++k)
      g[k].assign(net.learnable_params()[k]->cpu_diff(),
                  net.learnable_params()[k]->cpu_diff() + net.learnable_params()[k]->count());
    solver.step(1);
    for (int k = 0; k < 2; ++k) {
      const double lr_mult = k == 0 ? 1 : 2, decay_mult = k == 0 ? 1 : 0;
      ref_step(type, p, t, p.base_lr() * lr_mult, p.weight_decay() * decay_mult, w[k], g[k], st[k]);
      for (size_t i = 0; i < w[k].size(); ++i)
        EXPECT_NEAR(net.learnable_params()[k]->cpu_data()[i], w[k][i], 1e-9)
            << type << " step " << t << " param " << k << "[" << i << "]";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllTypes, SolverRule,
                         ::testing::Values("SGD", "Nesterov", "AdaGrad", "RMSProp", "AdaDelta",
                                           "Adam", "AdamW"));

TEST(Solver, LearningRatePolicies) {
  // Solver fields are float, so the rates match the formulas to float precision.
  Context ctx = Context::cpu(1);
  auto lr = [&](const std::string& extra, int it) {
    Solver<double> s(make_param(extra), ctx);
    return s.learning_rate(it);
  };
  EXPECT_NEAR(lr("", 50), 0.1, 1e-8);
  EXPECT_NEAR(lr("lr_policy: \"step\" gamma: 0.5 stepsize: 10", 25), 0.1 * 0.25, 1e-7);
  EXPECT_NEAR(lr("lr_policy: \"exp\" gamma: 0.9", 3), 0.1 * std::pow(0.9, 3), 1e-7);
  EXPECT_NEAR(lr("lr_policy: \"inv\" gamma: 0.0001 power: 0.75", 1000),
              0.1 * std::pow(1 + 0.0001 * 1000, -0.75), 1e-7);
  EXPECT_NEAR(lr("lr_policy: \"multistep\" gamma: 0.1 stepvalue: 10 stepvalue: 30", 9), 0.1, 1e-7);
  EXPECT_NEAR(lr("lr_policy: \"multistep\" gamma: 0.1 stepvalue: 10 stepvalue: 30", 30), 0.001,
              1e-7);
  EXPECT_NEAR(lr("lr_policy: \"poly\" power: 2", 50), 0.1 * 0.25, 1e-7);
  EXPECT_NEAR(lr("lr_policy: \"sigmoid\" gamma: -0.1 stepsize: 40", 40), 0.05, 1e-7);
  EXPECT_NEAR(lr("lr_policy: \"cosine\" min_lr: 0.01", 50), 0.01 + 0.09 * 0.5, 1e-7);
  EXPECT_NEAR(lr("lr_policy: \"cosine\"", 100), 0.0, 1e-7);
  EXPECT_NEAR(lr("warmup_iter: 10 warmup_start_factor: 0.1", 5), 0.1 * (0.1 + 0.9 * 0.5), 1e-7);
  EXPECT_NEAR(lr("warmup_iter: 10", 10), 0.1, 1e-7);
  EXPECT_THROW(lr("lr_policy: \"stepp\"", 0), ConfigError);
  EXPECT_THROW(lr("lr_policy: \"step\" gamma: 0.1", 0), ConfigError);  // no stepsize
  EXPECT_THROW(lr("type: \"Adamm\"", 0), ConfigError);
  EXPECT_THROW(lr("momentum: 1.5", 0), ConfigError);
}

TEST(Solver, IterSizeAccumulatesLikeOneBigStep) {
  // Two passes over the same batch with iter_size 2 equal one pass with iter_size 1.
  Context ctx = Context::cpu(1);
  Solver<double> a(make_param("iter_size: 2 momentum: 0.9"), ctx);
  Solver<double> b(make_param("iter_size: 1 momentum: 0.9"), ctx);
  for (auto* s : {&a, &b}) s->set_logger([](const std::string&) {}), set_inputs(s->net());
  a.step(3);
  b.step(3);
  const auto& wa = *a.net().learnable_params()[0];
  const auto& wb = *b.net().learnable_params()[0];
  for (int i = 0; i < wa.count(); ++i) EXPECT_NEAR(wa.cpu_data()[i], wb.cpu_data()[i], 1e-12);
}

TEST(Solver, ClipGradientsBoundsTheStep) {
  Context ctx = Context::cpu(1);
  Solver<double> s(make_param("clip_gradients: 0.001 base_lr: 1"), ctx);
  s.set_logger([](const std::string&) {});
  set_inputs(s.net());
  std::vector<std::vector<double>> before;
  for (auto* p : s.net().learnable_params())
    before.emplace_back(p->cpu_data(), p->cpu_data() + p->count());
  s.step(1);
  double moved = 0;
  for (size_t k = 0; k < before.size(); ++k)
    for (size_t i = 0; i < before[k].size(); ++i) {
      const double d = before[k][i] - s.net().learnable_params()[k]->cpu_data()[i];
      // lr_mult 2 on the bias doubles its share.
      moved += d * d / (k == 1 ? 4.0 : 1.0);
    }
  EXPECT_NEAR(std::sqrt(moved), 0.001, 1e-9);
}

TEST(Solver, NanLossStopsWithTheIteration) {
  Context ctx = Context::cpu(1);
  Solver<double> s(make_param("base_lr: 1e30"), ctx);
  s.set_logger([](const std::string&) {});
  set_inputs(s.net());
  try {
    s.step(50);
    FAIL() << "expected a NumericError";
  } catch (const NumericError& e) {
    EXPECT_NE(std::string(e.what()).find("at iteration"), std::string::npos) << e.what();
  }
}

const char* kDropNet = R"(
name: "drop"
layer { name: "in" type: "Input" top: "x" top: "y"
        input_param { shape { dim: 8 dim: 6 } shape { dim: 8 dim: 2 } } }
layer { name: "ip1" type: "InnerProduct" bottom: "x" top: "h"
        inner_product_param { num_output: 16 weight_filler { type: "xavier" } } }
layer { name: "drop" type: "Dropout" bottom: "h" top: "h" dropout_param { dropout_ratio: 0.3 } }
layer { name: "ip2" type: "InnerProduct" bottom: "h" top: "o"
        inner_product_param { num_output: 2 weight_filler { type: "xavier" } } }
layer { name: "loss" type: "EuclideanLoss" bottom: "o" bottom: "y" top: "loss" }
)";

TEST(Solver, SnapshotResumeIsBitExactAndChecksummed) {
  const fs::path dir = fs::temp_directory_path() / "crema_test_resume";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string extra = "type: \"Adam\" momentum: 0.9 base_lr: 0.01 max_iter: 40 "
                            "snapshot_after_train: false snapshot_prefix: \"" +
                            (dir / "run").string() + "\"";
  auto make = [&](Context& ctx) {
    auto s = std::make_unique<Solver<float>>(make_param(extra, kDropNet), ctx);
    s->set_logger([](const std::string&) {});
    test::fill_uniform(*s->net().blob_by_name("x"), -1, 1, 3);
    test::fill_uniform(*s->net().blob_by_name("y"), -1, 1, 4);
    return s;
  };
  Context c1 = Context::cpu(1), c2 = Context::cpu(2), c3 = Context::cpu(1);
  auto full = make(c1);
  full->step(40);
  auto first = make(c2);
  first->step(20);
  const std::string state = first->snapshot();
  auto resumed = make(c3);
  resumed->restore(state);
  EXPECT_EQ(resumed->iter(), 20);
  resumed->step(20);
  for (size_t k = 0; k < full->net().learnable_params().size(); ++k) {
    const auto& a = *full->net().learnable_params()[k];
    const auto& b = *resumed->net().learnable_params()[k];
    for (int i = 0; i < a.count(); ++i)
      ASSERT_EQ(a.cpu_data()[i], b.cpu_data()[i]) << "param " << k << "[" << i << "]";
  }
  // Same seed, same loss curve, bit for bit.
  auto again = make(c1);
  again->step(40);
  EXPECT_EQ(again->loss_history(), full->loss_history());
  // A corrupted or truncated state is refused with a clear error.
  std::string bytes = read_file(state);
  bytes[bytes.size() / 2] ^= 0x01;
  write_file_atomic(state, bytes);
  auto victim = make(c1);
  EXPECT_THROW(victim->restore(state), DataError);
  write_file_atomic(state, bytes.substr(0, bytes.size() / 3));
  EXPECT_THROW(victim->restore(state), DataError);
  // No temp files are left behind by atomic writes.
  for (const auto& e : fs::directory_iterator(dir))
    EXPECT_EQ(e.path().string().find(".tmp."), std::string::npos) << e.path();
}

}  // namespace
}  // namespace crema

namespace crema {
namespace {

// The device update of every solver kind against the CPU body on the same values. nvcc may
// fuse a multiply and an add (one rounding instead of two), so float results agree to 1e-6
// relative rather than bitwise.
TEST(GpuSolverUpdate, LaunchersMatchTheCpuBodies) {
  CREMA_REQUIRE_GPU();
#if CREMA_WITH_CUDA
  const int64_t n = 1000;
  const auto w0 = test::random_vector<float>(n, 41), g0 = test::random_vector<float>(n, 42);
  auto h0 = test::random_vector<float>(n, 43), h20 = test::random_vector<float>(n, 44);
  for (auto& v : h0) v = std::fabs(v);  // squared-gradient histories are >= 0
  for (auto& v : h20) v = std::fabs(v);
  kernels::UpdateArgs a{};
  a.rate = 0.05, a.momentum = 0.9, a.momentum2 = 0.999, a.rms_decay = 0.98, a.delta = 1e-8;
  a.decay = 5e-4, a.adam_correction = 0.7;
  for (int kind = 0; kind < 7; ++kind) {
    std::vector<float> w = w0, g = g0, h = h0, h2 = h20;
    testing::DeviceBuffer<float> dw(w), dg(g), dh(h), dh2(h2);
    for (int64_t i = 0; i < n; ++i) {
      switch (kind) {
        case 0: kernels::sgd_update(i, a, w.data(), g.data(), h.data()); break;
        case 1: kernels::nesterov_update(i, a, w.data(), g.data(), h.data()); break;
        case 2: kernels::adagrad_update(i, a, w.data(), g.data(), h.data()); break;
        case 3: kernels::rmsprop_update(i, a, w.data(), g.data(), h.data()); break;
        case 4: kernels::adadelta_update(i, a, w.data(), g.data(), h.data(), h2.data()); break;
        default:
          kernels::adam_update(i, a, kind == 6, w.data(), g.data(), h.data(), h2.data());
      }
    }
    switch (kind) {
      case 0: cuda::launch_sgd_update<float>(nullptr, n, a, dw.get(), dg.get(), dh.get()); break;
      case 1: cuda::launch_nesterov_update<float>(nullptr, n, a, dw.get(), dg.get(), dh.get()); break;
      case 2: cuda::launch_adagrad_update<float>(nullptr, n, a, dw.get(), dg.get(), dh.get()); break;
      case 3: cuda::launch_rmsprop_update<float>(nullptr, n, a, dw.get(), dg.get(), dh.get()); break;
      case 4:
        cuda::launch_adadelta_update<float>(nullptr, n, a, dw.get(), dg.get(), dh.get(), dh2.get());
        break;
      default:
        cuda::launch_adam_update<float>(nullptr, n, a, kind == 6, dw.get(), dg.get(), dh.get(),
                                        dh2.get());
    }
    const auto gw = dw.to_host(), gh = dh.to_host();
    for (int64_t i = 0; i < n; ++i) {
      ASSERT_NEAR(gw[i], w[i], 1e-6 * (1 + std::fabs(w[i]))) << "kind " << kind << " at " << i;
      ASSERT_NEAR(gh[i], h[i], 1e-6 * (1 + std::fabs(h[i]))) << "kind " << kind << " at " << i;
    }
  }
#endif
}

// The cuBLAS helpers the solver uses for iter_size scaling and gradient clipping.
TEST(GpuSolverUpdate, ScaleAndDotOnTheDevice) {
  CREMA_REQUIRE_GPU();
  Context gpu = Context::gpu(0, 1);
  Tensor<double> t({257});
  test::fill_uniform(t, -1, 1, 45);
  std::vector<double> want(t.cpu_data(), t.cpu_data() + t.count());
  double sumsq = 0;
  for (double& v : want) sumsq += (v * 0.5) * (v * 0.5), v *= 0.5;
  gpu_scal<double>(gpu, t.count(), 0.5, t.mutable_gpu_data(gpu));
  EXPECT_NEAR(gpu_dot<double>(gpu, t.count(), t.gpu_data(gpu), t.gpu_data(gpu)), sumsq, 1e-12);
  for (int64_t i = 0; i < t.count(); ++i) EXPECT_DOUBLE_EQ(t.cpu_data()[i], want[i]) << i;
}

}  // namespace
}  // namespace crema
