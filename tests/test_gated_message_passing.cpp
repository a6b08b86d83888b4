// GatedMessagePassing (GBD-Net): naive reference, equivalence with the same computation wired
// from standard layers, gradients, threads, blob layout, errors, the example net and the CLI.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "core/io.h"
#include "core/net.h"
#include "cuda_kernels/gated_message_passing.h"
#include "ops/gated_message_passing_layer.h"
#include "tests/cuda_test_util.h"
#include "tests/e2e_util.h"
#include "tests/gpu_compare.h"
#include "tests/reference/gated_message_passing_ref.h"
#include "tests/test_util.h"

namespace crema {
namespace {

struct Case {
  int k;
  int64_t n, c, h, w;
  int64_t m;  // num_output (0 = C)
  int ks;
  double coeff;
};

std::string param_text(const Case& c) {
  return str_cat("gated_message_passing_param { ",
                 c.m > 0 ? str_cat("num_output: ", c.m, " ") : std::string(), "kernel_size: ", c.ks,
                 " residual_coeff: ", c.coeff,
                 // Random biases so every bias enters the checks.
                 " bias_filler { type: \"uniform\" min: -0.3 max: 0.3 } }");
}

std::string gmp_text(const Case& c) {
  return "name: \"gbd\" type: \"GatedMessagePassing\" " + param_text(c);
}

// Owns K bottoms and K tops.
template <class T>
struct Blobs {
  std::vector<Tensor<T>> x, y;
  TensorVec<T> bottom, top;
  explicit Blobs(const Case& c, uint64_t seed) : x(c.k), y(c.k) {
    for (int i = 0; i < c.k; ++i) {
      x[i].reshape({c.n, c.c, c.h, c.w});
      test::fill_uniform(x[i], -1, 1, seed + i);
    }
    for (int i = 0; i < c.k; ++i) {
      bottom.push_back(&x[i]);
      top.push_back(&y[i]);
    }
  }
};

std::vector<std::vector<double>> params_of(const Layer<double>& layer) {
  std::vector<std::vector<double>> out;
  for (const auto& b : layer.blobs()) out.emplace_back(b->cpu_data(), b->cpu_data() + b->count());
  return out;
}

TEST(GatedMessagePassing, ForwardMatchesNaiveReference) {
  for (const Case& c : {Case{2, 2, 3, 4, 5, 0, 3, 0.1}, Case{3, 1, 2, 5, 4, 4, 3, 0.5},
                        Case{4, 2, 3, 3, 3, 2, 1, 1.0}, Case{3, 1, 2, 6, 6, 0, 5, 0.1}}) {
    SCOPED_TRACE(gmp_text(c));
    Context ctx = Context::cpu(1);
    Blobs<double> b(c, 11);
    auto layer = test::make_layer<double>(gmp_text(c), ctx, b.bottom, b.top);
    layer->forward(ctx, b.bottom, b.top);
    std::vector<ref::Feat> x;
    for (auto& t : b.x) x.emplace_back(t.cpu_data(), t.cpu_data() + t.count());
    const auto want = ref::gmp_forward(x, c.n, c.c, c.h, c.w, c.m > 0 ? c.m : c.c, c.ks,
                                       // The proto field is a float.
                                       static_cast<float>(c.coeff), params_of(*layer));
    for (int i = 0; i < c.k; ++i) {
      ASSERT_EQ(b.y[i].shape(), b.x[i].shape());
      test::expect_near(b.y[i].cpu_data(), want[i].data(), b.y[i].count(), 1e-12, "top");
      // The residual branch must matter, or the check above proves little.
      double diff = 0;
      for (int64_t e = 0; e < b.y[i].count(); ++e)
        diff += std::fabs(b.y[i].cpu_data()[e] - b.x[i].cpu_data()[e]);
      EXPECT_GT(diff, 1e-3);
    }
  }
}

// The fused bodies against the per-element formulas, at and around their kinks.
TEST(GatedMessagePassing, BodiesMatchNaiveFormulas) {
  const std::vector<double> self{-1.5, -0.2, 0.0, 0.3, 2.0, 0.7},
      gate{-3.0, 0.0, 0.2, 1.0, -0.4, 8.0}, msg{0.5, -0.5, 1.2, 0.0, 2.5, -1.0},
      dh{1.0, -2.0, 0.5, 3.0, -0.7, 1.5};
  const int64_t n = static_cast<int64_t>(self.size());
  std::vector<double> h(n), ds(n), dg(n), dm(n), y(n), dx(n), df(n);
  const kernels::GatedMessagePassingArgs<double> args{0.25};
  for (int64_t i = 0; i < n; ++i) {
    kernels::gated_message_passing_update_forward(i, self.data(), gate.data(), msg.data(),
                                                  h.data());
    kernels::gated_message_passing_update_backward(i, self.data(), gate.data(), msg.data(),
                                                   dh.data(), ds.data(), dg.data(), dm.data());
    kernels::gated_message_passing_mix_forward(i, args, gate.data(), msg.data(), y.data());
    kernels::gated_message_passing_mix_backward(i, args, msg.data(), dh.data(), dx.data(),
                                                df.data());
    double ws, wg, wm;
    ref::gmp_update_grad(self[i], gate[i], msg[i], &ws, &wg, &wm);
    EXPECT_NEAR(h[i], ref::gmp_update(self[i], gate[i], msg[i]), 1e-14) << i;
    EXPECT_NEAR(ds[i], dh[i] * ws, 1e-14) << i;
    EXPECT_NEAR(dg[i], dh[i] * wg, 1e-14) << i;
    EXPECT_NEAR(dm[i], dh[i] * wm, 1e-14) << i;
    EXPECT_NEAR(y[i], gate[i] + 0.25 * ref::gmp_relu(msg[i]), 1e-14) << i;
    EXPECT_EQ(dx[i], dh[i]) << i;
    EXPECT_NEAR(df[i], msg[i] > 0 ? 0.25 * dh[i] : 0.0, 1e-14) << i;
  }
}

// The same module written as a net of standard layers, as craftGBD's deploy_GBD.prototxt wires
// it (Convolution, ReLU, Sigmoid, Eltwise PROD / SUM, Concat), with EuclideanLoss heads.
std::string reference_net(const Case& c) {
  const int64_t m = c.m > 0 ? c.m : c.c;
  std::string s = "force_backward: true\n";
  auto input = [&](const std::string& top) {
    s += str_cat("layer { name: \"in_", top, "\" type: \"Input\" top: \"", top,
                 "\" input_param { shape { dim: ", c.n, " dim: ", c.c, " dim: ", c.h, " dim: ", c.w,
                 " } } }\n");
  };
  for (int r = 1; r <= c.k; ++r) input(str_cat("x", r));
  for (int r = 1; r <= c.k; ++r) input(str_cat("t", r));
  auto conv = [&](const std::string& name, const std::string& bottom, int64_t out) {
    s += str_cat("layer { name: \"", name, "\" type: \"Convolution\" bottom: \"", bottom,
                 "\" top: \"", name, "\" convolution_param { num_output: ", out,
                 " kernel_size: ", c.ks, " pad: ", (c.ks - 1) / 2, " } }\n");
  };
  auto unary = [&](const char* type, const std::string& bottom, const std::string& top) {
    s += str_cat("layer { name: \"", top, "\" type: \"", type, "\" bottom: \"", bottom,
                 "\" top: \"", top, "\" }\n");
  };
  auto eltwise = [&](const char* op, const std::string& a, const std::string& b,
                     const std::string& top, const std::string& coeffs) {
    s += str_cat("layer { name: \"", top, "\" type: \"Eltwise\" bottom: \"", a, "\" bottom: \"", b,
                 "\" top: \"", top, "\" eltwise_param { operation: ", op, coeffs, " } }\n");
  };
  // One direction D ("S" or "B"): start region `first`, hops sender -> sender + step.
  auto direction = [&](const std::string& d, const std::string& h, int first, int step) {
    conv(str_cat(d, "self_", first), str_cat("x", first), m);
    unary("ReLU", str_cat(d, "self_", first), str_cat(h, "_", first));
    for (int snd = first, rcv = first + step; rcv >= 1 && rcv <= c.k; snd = rcv, rcv += step) {
      conv(str_cat(d, "msg_", snd), str_cat(h, "_", snd), m);
      unary("ReLU", str_cat(d, "msg_", snd), str_cat(d, "msg_relu_", snd));
      conv(str_cat(d, "gate_", snd), str_cat("x", snd), m);
      unary("Sigmoid", str_cat(d, "gate_", snd), str_cat(d, "gate_sigm_", snd));
      eltwise("PROD", str_cat(d, "gate_sigm_", snd), str_cat(d, "msg_relu_", snd),
              str_cat(d, "gated_", snd), "");
      conv(str_cat(d, "self_", rcv), str_cat("x", rcv), m);
      unary("ReLU", str_cat(d, "self_", rcv), str_cat(d, "self_relu_", rcv));
      eltwise("SUM", str_cat(d, "self_relu_", rcv), str_cat(d, "gated_", snd), str_cat(h, "_", rcv),
              "");
    }
  };
  direction("S", "h1", 1, +1);
  direction("B", "h2", c.k, -1);
  for (int r = 1; r <= c.k; ++r) {
    s += str_cat("layer { name: \"cat_", r, "\" type: \"Concat\" bottom: \"h1_", r,
                 "\" bottom: \"h2_", r, "\" top: \"cat_", r, "\" }\n");
    conv(str_cat("Fuse_", r), str_cat("cat_", r), c.c);
    unary("ReLU", str_cat("Fuse_", r), str_cat("h3_", r));
    eltwise("SUM", str_cat("x", r), str_cat("h3_", r), str_cat("out", r),
            str_cat(" coeff: 1 coeff: ", c.coeff));
    s += str_cat("layer { name: \"loss", r, "\" type: \"EuclideanLoss\" bottom: \"out", r,
                 "\" bottom: \"t", r, "\" top: \"loss", r, "\" }\n");
  }
  return s;
}

std::string layer_net(const Case& c) {
  std::string s = "force_backward: true\n";
  for (const char* p : {"x", "t"})
    for (int r = 1; r <= c.k; ++r)
      s += str_cat("layer { name: \"in_", p, r, "\" type: \"Input\" top: \"", p, r,
                   "\" input_param { shape { dim: ", c.n, " dim: ", c.c, " dim: ", c.h,
                   " dim: ", c.w, " } } }\n");
  s += "layer { name: \"gbd\" type: \"GatedMessagePassing\"";
  for (int r = 1; r <= c.k; ++r) s += str_cat(" bottom: \"x", r, "\"");
  for (int r = 1; r <= c.k; ++r) s += str_cat(" top: \"out", r, "\"");
  s += " " + param_text(c) + " }\n";
  for (int r = 1; r <= c.k; ++r)
    s += str_cat("layer { name: \"loss", r, "\" type: \"EuclideanLoss\" bottom: \"out", r,
                 "\" bottom: \"t", r, "\" top: \"loss", r, "\" }\n");
  return s;
}

std::unique_ptr<Net<double>> build_net(const std::string& text, Context& ctx) {
  NetParameter p;
  TextLocations where;
  parse_text_proto(text, "net.prototxt", &p, &where);
  NetState s;
  s.set_phase(TRAIN);
  return std::make_unique<Net<double>>(p, ctx, s, &where);
}

// Reference conv layer name and its blob index in the fused layer, for every conv.
std::vector<std::pair<std::string, int>> conv_map(const GatedMessagePassingLayer<double>& l,
                                                  int k) {
  std::vector<std::pair<std::string, int>> out;
  for (int i = 0; i < k; ++i) out.emplace_back(str_cat("Sself_", i + 1), l.sself(i));
  for (int i = 0; i + 1 < k; ++i) out.emplace_back(str_cat("Smsg_", i + 1), l.smsg(i));
  for (int i = 0; i + 1 < k; ++i) out.emplace_back(str_cat("Sgate_", i + 1), l.sgate(i));
  for (int i = 0; i < k; ++i) out.emplace_back(str_cat("Bself_", i + 1), l.bself(i));
  for (int i = 1; i < k; ++i) out.emplace_back(str_cat("Bmsg_", i + 1), l.bmsg(i));
  for (int i = 1; i < k; ++i) out.emplace_back(str_cat("Bgate_", i + 1), l.bgate(i));
  for (int i = 0; i < k; ++i) out.emplace_back(str_cat("Fuse_", i + 1), l.fuse(i));
  return out;
}

TEST(GatedMessagePassing, MatchesNetOfStandardLayers) {
  for (const Case& c : {Case{4, 2, 3, 5, 5, 0, 3, 0.1}, Case{3, 1, 2, 4, 3, 3, 3, 0.7},
                        Case{2, 2, 2, 3, 3, 0, 1, 0.1}}) {
    SCOPED_TRACE(gmp_text(c));
    Context ctx = Context::cpu(1);
    auto ref_net = build_net(reference_net(c), ctx);
    auto gmp_net = build_net(layer_net(c), ctx);
    const int li = gmp_net->layer_index("gbd");
    ASSERT_GE(li, 0);
    auto& layer = dynamic_cast<GatedMessagePassingLayer<double>&>(*gmp_net->layers()[li]);
    ASSERT_EQ(layer.blobs().size(), static_cast<size_t>(14 * c.k - 8));
    // Copy the fused layer's weights (random biases included) into the reference convs.
    const auto map = conv_map(layer, c.k);
    ASSERT_EQ(map.size(), static_cast<size_t>(7 * c.k - 4));
    for (const auto& [name, idx] : map) {
      const int r = ref_net->layer_index(name);
      ASSERT_GE(r, 0) << name;
      auto& rb = ref_net->layers()[r]->blobs();
      ASSERT_EQ(rb.size(), 2u);
      ASSERT_EQ(rb[0]->shape(), layer.blobs()[idx]->shape()) << name;
      ASSERT_EQ(rb[1]->shape(), layer.blobs()[idx + 1]->shape()) << name;
      rb[0]->copy_from(*layer.blobs()[idx]);
      rb[1]->copy_from(*layer.blobs()[idx + 1]);
    }
    for (int r = 1; r <= c.k; ++r)
      for (const char* p : {"x", "t"}) {
        const std::string name = str_cat(p, r);
        test::fill_uniform(*gmp_net->blob_by_name(name), -1, 1, 100 + 2 * r + (p[0] == 't'));
        ref_net->blob_by_name(name)->copy_from(*gmp_net->blob_by_name(name));
      }
    ref_net->clear_param_diffs();
    gmp_net->clear_param_diffs();
    const double want_loss = ref_net->forward_backward();
    const double got_loss = gmp_net->forward_backward();
    EXPECT_NEAR(got_loss, want_loss, 1e-12 * std::max(1.0, std::fabs(want_loss)));
    for (int r = 1; r <= c.k; ++r) {
      const auto& want = *ref_net->blob_by_name(str_cat("out", r));
      const auto& got = *gmp_net->blob_by_name(str_cat("out", r));
      test::expect_near(got.cpu_data(), want.cpu_data(), got.count(), 1e-12, "out");
      const auto& wx = *ref_net->blob_by_name(str_cat("x", r));
      const auto& gx = *gmp_net->blob_by_name(str_cat("x", r));
      test::expect_near(gx.cpu_diff(), wx.cpu_diff(), gx.count(), 1e-12, "bottom diff");
      EXPECT_GT(gx.asum_diff(), 0.0);
    }
    for (const auto& [name, idx] : map) {
      auto& rb = ref_net->layers()[ref_net->layer_index(name)]->blobs();
      for (int j = 0; j < 2; ++j) {
        const auto& got = *layer.blobs()[idx + j];
        test::expect_near(got.cpu_diff(), rb[j]->cpu_diff(), got.count(), 1e-12,
                          (name + (j ? " bias diff" : " weight diff")).c_str());
        EXPECT_GT(got.asum_diff(), 0.0) << name << " " << j;
      }
    }
  }
}

TEST(GatedMessagePassing, GradientCheck) {
  for (const Case& c : {Case{3, 1, 2, 3, 3, 2, 3, 0.5}, Case{2, 2, 2, 2, 3, 3, 1, 1.0}}) {
    SCOPED_TRACE(gmp_text(c));
    Context ctx = Context::cpu(1);
    Blobs<double> b(c, 31);
    auto layer = test::make_layer<double>(gmp_text(c), ctx, b.bottom, b.top);
    test::GradCheck opt;
    opt.step = 1e-5;
    opt.tol = 1e-6;
    test::check_gradient(*layer, ctx, b.bottom, b.top, opt);
  }
}

TEST(GatedMessagePassing, OneAndTwoThreadsBitwise) {
  const Case c{3, 2, 4, 6, 6, 0, 3, 0.1};
  std::vector<std::vector<double>> outs, dxs, dws;
  for (int threads : {1, 2}) {
    Context ctx = Context::cpu(threads);
    Blobs<double> b(c, 41);
    auto layer = test::make_layer<double>(gmp_text(c), ctx, b.bottom, b.top);
    layer->forward(ctx, b.bottom, b.top);
    std::vector<double> out, dx, dw;
    for (int i = 0; i < c.k; ++i) {
      out.insert(out.end(), b.y[i].cpu_data(), b.y[i].cpu_data() + b.y[i].count());
      test::fill_uniform(b.y[i], -1, 1, 50 + i);
      std::copy(b.y[i].cpu_data(), b.y[i].cpu_data() + b.y[i].count(), b.y[i].mutable_cpu_diff());
    }
    for (auto& p : layer->blobs()) p->set_diff(0);
    layer->backward(ctx, b.top, std::vector<bool>(c.k, true), b.bottom);
    for (int i = 0; i < c.k; ++i)
      dx.insert(dx.end(), b.x[i].cpu_diff(), b.x[i].cpu_diff() + b.x[i].count());
    for (auto& p : layer->blobs()) dw.insert(dw.end(), p->cpu_diff(), p->cpu_diff() + p->count());
    outs.push_back(out);
    dxs.push_back(dx);
    dws.push_back(dw);
  }
  EXPECT_EQ(outs[0], outs[1]);
  EXPECT_EQ(dxs[0], dxs[1]);
  EXPECT_EQ(dws[0], dws[1]);
}

TEST(GatedMessagePassing, BlobLayoutAndFillers) {
  const Case c{4, 1, 3, 4, 4, 5, 3, 0.1};
  Context ctx = Context::cpu(1);
  Blobs<float> b(c, 3);
  auto layer = test::make_layer<float>(
      "name: \"gbd\" type: \"GatedMessagePassing\" gated_message_passing_param { num_output: 5 }",
      ctx, b.bottom, b.top);
  auto& l = dynamic_cast<GatedMessagePassingLayer<float>&>(*layer);
  ASSERT_EQ(l.blobs().size(), 48u);  // 24 convs for K = 4, weight and bias each
  auto shape = [&](int idx) { return l.blobs()[idx]->shape(); };
  using S = std::vector<int64_t>;
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(shape(l.sself(i)), (S{5, 3, 3, 3}));
    EXPECT_EQ(shape(l.bself(i)), (S{5, 3, 3, 3}));
    EXPECT_EQ(shape(l.fuse(i)), (S{3, 10, 3, 3}));
    EXPECT_EQ(shape(l.fuse(i) + 1), (S{3}));
  }
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(shape(l.smsg(i)), (S{5, 5, 3, 3}));
    EXPECT_EQ(shape(l.sgate(i)), (S{5, 3, 3, 3}));
    EXPECT_EQ(shape(l.bmsg(i + 1)), (S{5, 5, 3, 3}));
    EXPECT_EQ(shape(l.bgate(i + 1)), (S{5, 3, 3, 3}));
  }
  EXPECT_EQ(l.sself(0), 0);
  EXPECT_EQ(l.fuse(3), 46);
  for (size_t idx = 0; idx < l.blobs().size(); idx += 2) {
    const Tensor<float>& w = *l.blobs()[idx];
    const Tensor<float>& bias = *l.blobs()[idx + 1];
    // Xavier: uniform in +-sqrt(3 / fan_in), not all equal.
    const float bound = std::sqrt(3.f / static_cast<float>(w.count() / w.shape(0)));
    float lo = 1e9f, hi = -1e9f;
    for (int64_t e = 0; e < w.count(); ++e) {
      lo = std::min(lo, w.cpu_data()[e]);
      hi = std::max(hi, w.cpu_data()[e]);
    }
    EXPECT_GE(lo, -bound);
    EXPECT_LE(hi, bound);
    EXPECT_LT(lo, hi);
    const int j = static_cast<int>(idx);
    const bool is_gate = (j >= l.sgate(0) && j < l.bself(0)) || (j >= l.bgate(1) && j < l.fuse(0));
    for (int64_t e = 0; e < bias.count(); ++e)
      EXPECT_EQ(bias.cpu_data()[e], is_gate ? 0.2f : 0.f) << idx;
  }
  // The gate bias filler is configurable.
  auto custom = test::make_layer<float>(
      "name: \"gbd\" type: \"GatedMessagePassing\" gated_message_passing_param { "
      "gate_bias_filler { type: \"constant\" value: -1 } }",
      ctx, b.bottom, b.top);
  auto& cl = dynamic_cast<GatedMessagePassingLayer<float>&>(*custom);
  EXPECT_EQ(cl.blobs()[cl.sgate(0) + 1]->cpu_data()[0], -1.f);
  EXPECT_EQ(cl.blobs()[cl.bself(0) + 1]->cpu_data()[0], 0.f);
}

// A net may replace a layer's blobs (parameter sharing); the internal convs must follow.
TEST(GatedMessagePassing, ReplacedBlobsAreUsed) {
  const Case c{2, 1, 2, 3, 3, 0, 3, 0.5};
  Context ctx = Context::cpu(1);
  Blobs<double> b(c, 5);
  auto layer = test::make_layer<double>(gmp_text(c), ctx, b.bottom, b.top);
  auto& fuse_w =
      layer->blobs()[dynamic_cast<GatedMessagePassingLayer<double>&>(*layer).fuse(0) + 1];
  auto replacement = std::make_shared<Tensor<double>>(fuse_w->shape());
  replacement->set_data(-100.0);  // fusion bias so negative that h3 = 0: out = h0
  fuse_w = replacement;
  layer->forward(ctx, b.bottom, b.top);
  for (int64_t e = 0; e < b.y[0].count(); ++e)
    ASSERT_EQ(b.y[0].cpu_data()[e], b.x[0].cpu_data()[e]) << e;
}

// lr_mult 0 on one conv (the net clears param_propagate_down) leaves its diffs untouched.
TEST(GatedMessagePassing, FrozenParamsGetNoGradient) {
  const Case c{3, 1, 2, 3, 3, 0, 3, 0.5};
  Context ctx = Context::cpu(1);
  Blobs<double> b(c, 8);
  auto layer = test::make_layer<double>(gmp_text(c), ctx, b.bottom, b.top);
  const int frozen = dynamic_cast<GatedMessagePassingLayer<double>&>(*layer).sgate(1);
  layer->set_param_propagate_down(frozen, false);
  layer->set_param_propagate_down(frozen + 1, false);
  layer->forward(ctx, b.bottom, b.top);
  for (auto& y : b.y) y.set_diff(1.0);
  for (auto& p : layer->blobs()) p->set_diff(0.0);
  layer->backward(ctx, b.top, std::vector<bool>(c.k, true), b.bottom);
  for (size_t i = 0; i < layer->blobs().size(); ++i) {
    const double a = layer->blobs()[i]->asum_diff();
    if (static_cast<int>(i) == frozen || static_cast<int>(i) == frozen + 1)
      EXPECT_EQ(a, 0.0) << i;
    else
      EXPECT_GT(a, 0.0) << i;
  }
}

TEST(GatedMessagePassing, Errors) {
  Context ctx = Context::cpu(1);
  const Case c{3, 1, 2, 4, 4, 0, 3, 0.1};
  const std::string base = "name: \"gbd\" type: \"GatedMessagePassing\" ";
  {  // K < 2
    Blobs<float> b({1, 1, 2, 4, 4, 0, 3, 0.1}, 1);
    EXPECT_THROW(test::make_layer<float>(base, ctx, b.bottom, b.top), ConfigError);
  }
  {  // top count differs from bottom count
    Blobs<float> b(c, 1);
    TensorVec<float> tops(b.top.begin(), b.top.begin() + 2);
    EXPECT_THROW(test::make_layer<float>(base, ctx, b.bottom, tops), ConfigError);
  }
  {  // regions of different shapes, at setup and at a later reshape
    Blobs<float> b(c, 1);
    b.x[2].reshape({1, 2, 5, 4});
    EXPECT_THROW(test::make_layer<float>(base, ctx, b.bottom, b.top), ShapeError);
    Blobs<float> ok(c, 1);
    auto layer = test::make_layer<float>(base, ctx, ok.bottom, ok.top);
    ok.x[1].reshape({2, 2, 4, 4});
    EXPECT_THROW(layer->forward(ctx, ok.bottom, ok.top), ShapeError);
    ok.x[1].reshape({1, 2, 4, 4});
    for (auto& x : ok.x) x.reshape({1, 3, 4, 4});  // channel count changed after setup
    EXPECT_THROW(layer->forward(ctx, ok.bottom, ok.top), ShapeError);
  }
  {  // not 4-d
    Blobs<float> b(c, 1);
    for (auto& x : b.x) x.reshape({2, 4, 4});
    EXPECT_THROW(test::make_layer<float>(base, ctx, b.bottom, b.top), ShapeError);
  }
  {  // in place
    Blobs<float> b(c, 1);
    TensorVec<float> tops = b.top;
    tops[1] = b.bottom[1];
    EXPECT_THROW(test::make_layer<float>(base, ctx, b.bottom, tops), ConfigError);
  }
  for (const char* bad : {"gated_message_passing_param { kernel_size: 2 }",
                          "gated_message_passing_param { kernel_size: 0 }",
                          "gated_message_passing_param { num_regions: 4 }",
                          "gated_message_passing_param { residual_coeff: inf }",
                          "gated_message_passing_param { weight_filler { type: \"nope\" } }"}) {
    SCOPED_TRACE(bad);
    Blobs<float> b(c, 1);
    EXPECT_THROW(test::make_layer<float>(base + bad, ctx, b.bottom, b.top), ConfigError);
  }
  {  // num_regions matching the bottoms is fine
    Blobs<float> b(c, 1);
    EXPECT_NO_THROW(test::make_layer<float>(base + "gated_message_passing_param { num_regions: 3 }",
                                            ctx, b.bottom, b.top));
  }
}

const std::string kModule = std::string(CREMA_SOURCE_DIR) + "/models/gbd/gbd_module.prototxt";

// The example module builds, keeps the region shapes and stacks them on the batch axis.
TEST(GatedMessagePassing, ExampleModuleBuildsAndRuns) {
  Context ctx = Context::cpu(1);
  Net<float> net(kModule, ctx, TEST);
  for (const char* r : {"region_s08", "region_s10", "region_s18", "region_s27"})
    test::fill_uniform(*net.blob_by_name(r), 0, 1, 9);
  net.forward();
  EXPECT_EQ(net.blob_by_name("gbd_s08")->shape(), (std::vector<int64_t>{8, 16, 7, 7}));
  EXPECT_EQ(net.blob_by_name("gbd_stacked")->shape(), (std::vector<int64_t>{32, 16, 7, 7}));
  const int li = net.layer_index("gbd");
  ASSERT_GE(li, 0);
  EXPECT_EQ(net.layers()[li]->blobs().size(), 48u);
}

TEST(E2EGatedMessagePassing, ExampleModuleRunsThroughCli) {
  const auto r = test::run_crema("time --model " + kModule + " --iterations 2");
  EXPECT_EQ(r.code, 0) << r.output;
  for (const char* what : {"gbd", "GatedMessagePassing", "total per iteration"})
    EXPECT_NE(r.output.find(what), std::string::npos) << r.output;
}

// The launchers run the same GATHER bodies as the CPU path: bit-for-bit agreement.
TEST(GpuGatedMessagePassing, LaunchersMatchCpu) {
  CREMA_REQUIRE_GPU();
#if CREMA_WITH_CUDA
  const int64_t n = 1000;
  Tensor<float> a({n}), g({n}), m({n}), dh({n});
  test::fill_uniform(a, -2, 2, 1);
  test::fill_uniform(g, -4, 4, 2);
  test::fill_uniform(m, -2, 2, 3);
  test::fill_uniform(dh, -1, 1, 4);
  auto host = [](const Tensor<float>& t) {
    return std::vector<float>(t.cpu_data(), t.cpu_data() + t.count());
  };
  const kernels::GatedMessagePassingArgs<float> args{0.1f};
  std::vector<float> h(n), ds(n), dg(n), dm(n), y(n), dx(n), df(n);
  for (int64_t i = 0; i < n; ++i) {
    kernels::gated_message_passing_update_forward(i, a.cpu_data(), g.cpu_data(), m.cpu_data(),
                                                  h.data());
    kernels::gated_message_passing_update_backward(i, a.cpu_data(), g.cpu_data(), m.cpu_data(),
                                                   dh.cpu_data(), ds.data(), dg.data(), dm.data());
    kernels::gated_message_passing_mix_forward(i, args, a.cpu_data(), g.cpu_data(), y.data());
    kernels::gated_message_passing_mix_backward(i, args, g.cpu_data(), dh.cpu_data(), dx.data(),
                                                df.data());
  }
  testing::DeviceBuffer<float> da(host(a)), dgt(host(g)), dmt(host(m)), ddh(host(dh)), oh(n),
      ods(n), odg(n), odm(n), oy(n), odx(n), odf(n);
  cuda::launch_gated_message_passing_update_forward<float>(nullptr, n, da.get(), dgt.get(),
                                                           dmt.get(), oh.get());
  cuda::launch_gated_message_passing_update_backward<float>(
      nullptr, n, da.get(), dgt.get(), dmt.get(), ddh.get(), ods.get(), odg.get(), odm.get());
  cuda::launch_gated_message_passing_mix_forward<float>(nullptr, n, args, da.get(), dgt.get(),
                                                        oy.get());
  cuda::launch_gated_message_passing_mix_backward<float>(nullptr, n, args, dgt.get(), ddh.get(),
                                                         odx.get(), odf.get());
  // Exactly equal where no transcendental is involved; tanh may differ by an ulp between the
  // device math library and glibc, hence a relative 1e-6 where the sigmoid enters.
  EXPECT_EQ(ods.to_host(), ds);
  EXPECT_EQ(oy.to_host(), y);
  EXPECT_EQ(odx.to_host(), dx);
  EXPECT_EQ(odf.to_host(), df);
  const auto gh = oh.to_host(), gdg = odg.to_host(), gdm = odm.to_host();
  test::expect_near(gh.data(), h.data(), n, 1e-6, "h");
  test::expect_near(gdg.data(), dg.data(), n, 1e-6, "d_gate");
  test::expect_near(gdm.data(), dm.data(), n, 1e-6, "d_msg");
#endif
}

// The layer's GPU path (internal convs and concat on their GPU paths, launchers of the bodies,
// cuBLAS axpy) against the CPU: K = 2, 3, 4, num_output equal to or other than C, kernel 3 and 1,
// and a region without input gradient. cuDNN sums in its own order: 1e-4 in float, 1e-10 in
// double.
TEST(GpuGatedMessagePassing, MatchesCpu) {
  CREMA_REQUIRE_GPU();
  for (const Case& c : {Case{2, 2, 3, 4, 5, 0, 3, 0.5}, Case{3, 1, 2, 5, 4, 4, 3, 0.5},
                        Case{4, 2, 3, 3, 3, 2, 1, 1.0}}) {
    SCOPED_TRACE(gmp_text(c));
    const std::vector<std::vector<int64_t>> shapes(c.k, {c.n, c.c, c.h, c.w});
    test::expect_gpu_matches_cpu<float>(gmp_text(c), shapes, {.tol = 1e-4});
    test::expect_gpu_matches_cpu<double>(gmp_text(c), shapes, {.tol = 1e-10});
  }
  const Case c{3, 2, 2, 4, 4, 3, 3, 0.5};
  const std::vector<std::vector<int64_t>> shapes(c.k, {c.n, c.c, c.h, c.w});
  test::expect_gpu_matches_cpu<double>(gmp_text(c), shapes,
                                       {.tol = 1e-10, .propagate_down = {true, false, true}});
}

}  // namespace
}  // namespace crema
