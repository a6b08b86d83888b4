// LSTM layer: forward against the scalar-loop oracle (plain, x_static, expose_hidden, resets in
// the middle of sequences), state carried across forward calls and snapshots, BPTT gradients,
// thread determinism, errors, and a small sequence task learnt through the Solver.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "core/io.h"
#include "core/solver.h"
#include "ops/lstm_layer.h"
#include "tests/gpu_compare.h"
#include "tests/reference/lstm_ref.h"
#include "tests/test_util.h"

namespace crema {
namespace {

using test::check_gradient;
using test::fill_uniform;
using test::make_layer;

std::string lstm_text(int num_output, bool expose, const std::string& name = "lstm") {
  return "name: '" + name +
         "' type: 'LSTM' recurrent_param { num_output: " + std::to_string(num_output) +
         (expose ? " expose_hidden: true" : "") +
         " weight_filler { type: 'uniform' min: -0.6 max: 0.6 }"
         " bias_filler { type: 'uniform' min: -0.5 max: 0.5 } }";
}

// T = 4, N = 3 (row t, column n). Stream 0 runs one sequence, stream 1 restarts at t = 2,
// stream 2 continues from the initial state at t = 0 and restarts at t = 3.
const std::vector<double> kContResets = {0, 0, 1, 1, 1, 1, 1, 0, 1, 1, 1, 0};
// As kContResets, but every stream starts a sequence at t = 0 (so a carried state is unused).
const std::vector<double> kContFresh = {0, 0, 0, 1, 1, 1, 1, 0, 1, 1, 1, 0};

struct LstmCase {
  std::string what;
  std::vector<int64_t> x_shape;       // T x N x ...
  std::vector<int64_t> static_shape;  // empty: no x_static
  bool expose;
  std::vector<double> cont;
};

std::vector<LstmCase> lstm_cases() {
  return {
      {"plain", {4, 3, 5}, {}, false, kContResets},
      {"x is 4-d", {4, 3, 1, 5}, {}, false, kContFresh},
      {"x_static", {4, 3, 5}, {3, 2, 2}, false, kContResets},
      {"expose_hidden", {4, 3, 5}, {}, true, kContResets},
      {"x_static + expose_hidden", {4, 3, 5}, {3, 4}, true, {1, 0.5, 0, 1, 1, 1, 0, 1, 1, 1, 1, 0}},
  };
}

// Bottoms and tops of one case; h_0 / c_0 and h_T / c_T only with expose_hidden.
template <class T>
struct Blobs {
  Tensor<T> x, cont, xs, h0, c0, h, h_last, c_last;
  TensorVec<T> bottom, top;

  Blobs(const LstmCase& c, int64_t hid, uint64_t seed) {
    x.reshape(c.x_shape);
    fill_uniform(x, -1, 1, seed);
    const int64_t steps = c.x_shape[0], streams = c.x_shape[1];
    cont.reshape({steps, streams});
    for (int64_t i = 0; i < cont.count(); ++i) cont.mutable_cpu_data()[i] = T(c.cont[i]);
    bottom = {&x, &cont};
    if (!c.static_shape.empty()) {
      xs.reshape(c.static_shape);
      fill_uniform(xs, -1, 1, seed + 1);
      bottom.push_back(&xs);
    }
    top = {&h};
    if (c.expose) {
      h0.reshape({1, streams, hid});
      c0.reshape({1, streams, hid});
      fill_uniform(h0, -0.9, 0.9, seed + 2);
      fill_uniform(c0, -1.5, 1.5, seed + 3);
      bottom.push_back(&h0);
      bottom.push_back(&c0);
      top.push_back(&h_last);
      top.push_back(&c_last);
    }
  }
};

// The oracle on the layer's own parameters; h0 / c0 override the initial state when given.
template <class T>
ref::LstmResult reference(Layer<T>& layer, const Blobs<T>& b, int64_t hid, const T* h0 = nullptr,
                          const T* c0 = nullptr) {
  const bool with_static = b.xs.count() > 0;
  const auto& blobs = layer.blobs();
  const int64_t in_static = with_static ? b.xs.count(1) : 0;
  if (b.h0.count() > 0) h0 = b.h0.cpu_data(), c0 = b.c0.cpu_data();
  return ref::lstm(b.x.cpu_data(), b.cont.cpu_data(), with_static ? b.xs.cpu_data() : nullptr, h0,
                   c0, b.x.shape(0), b.x.shape(1), b.x.count(2), in_static, hid,
                   blobs[0]->cpu_data(), blobs[1]->cpu_data(),
                   with_static ? blobs[2]->cpu_data() : nullptr, blobs.back()->cpu_data());
}

template <class T>
void expect_matches(const std::vector<double>& want, const T* got, int64_t n, double tol,
                    const char* what) {
  std::vector<T> w(want.begin(), want.end());
  ASSERT_EQ(static_cast<int64_t>(w.size()), n) << what;
  test::expect_near(got, w.data(), n, tol, what);
}

template <class T>
void check_forward(const LstmCase& c, double tol) {
  SCOPED_TRACE(c.what);
  const int64_t hid = 6;
  Context ctx = Context::cpu(1);
  Blobs<T> b(c, hid, 21);
  auto layer = make_layer<T>(lstm_text(hid, c.expose), ctx, b.bottom, b.top);
  layer->forward(ctx, b.bottom, b.top);
  const int64_t steps = c.x_shape[0], streams = c.x_shape[1];
  ASSERT_EQ(b.h.shape(), (std::vector<int64_t>{steps, streams, hid}));
  const auto want = reference(*layer, b, hid);
  expect_matches(want.h, b.h.cpu_data(), b.h.count(), tol, "h");
  if (c.expose) {
    ASSERT_EQ(b.h_last.shape(), (std::vector<int64_t>{1, streams, hid}));
    ASSERT_EQ(b.c_last.shape(), (std::vector<int64_t>{1, streams, hid}));
    expect_matches(want.h_last, b.h_last.cpu_data(), b.h_last.count(), tol, "h_T");
    expect_matches(want.c_last, b.c_last.cpu_data(), b.c_last.count(), tol, "c_T");
  }
}

TEST(Lstm, ForwardMatchesReferenceDouble) {
  for (const auto& c : lstm_cases()) check_forward<double>(c, 1e-12);
}

TEST(Lstm, ForwardMatchesReferenceFloat) {
  for (const auto& c : lstm_cases()) check_forward<float>(c, 1e-5);
}

// The cont gate must matter: the same inputs with no resets give a different output after the
// first reset, and the same output before it.
TEST(Lstm, ContResetsChangeTheOutput) {
  Context ctx = Context::cpu(1);
  LstmCase c = lstm_cases()[0];
  Blobs<double> b(c, 6, 3);
  auto layer = make_layer<double>(lstm_text(6, false), ctx, b.bottom, b.top);
  layer->forward(ctx, b.bottom, b.top);
  const std::vector<double> with_resets(b.h.cpu_data(), b.h.cpu_data() + b.h.count());
  for (int64_t i = 0; i < b.cont.count(); ++i) b.cont.mutable_cpu_data()[i] = i < 3 ? 0 : 1;
  auto fresh = make_layer<double>(lstm_text(6, false), ctx, b.bottom, b.top);
  fresh->forward(ctx, b.bottom, b.top);
  const int64_t hid = 6, streams = 3;
  // Stream 1 restarts at t = 2: equal at t < 2, different from t = 2 on.
  for (int64_t t = 0; t < 4; ++t) {
    const int64_t k = (t * streams + 1) * hid;
    if (t < 2)
      EXPECT_EQ(with_resets[k], b.h.cpu_data()[k]) << "t=" << t;
    else
      EXPECT_NE(with_resets[k], b.h.cpu_data()[k]) << "t=" << t;
  }
}

TEST(Lstm, ParameterShapesInCaffeOrder) {
  Context ctx = Context::cpu(1);
  Blobs<float> b(lstm_cases()[2], 6, 1);  // x_static: 3 x 2 x 2
  auto layer = make_layer<float>(lstm_text(6, false), ctx, b.bottom, b.top);
  ASSERT_EQ(layer->blobs().size(), 4u);
  EXPECT_EQ(layer->blobs()[0]->shape(), (std::vector<int64_t>{24, 5}));  // W_xc
  EXPECT_EQ(layer->blobs()[1]->shape(), (std::vector<int64_t>{24}));     // b_c
  EXPECT_EQ(layer->blobs()[2]->shape(), (std::vector<int64_t>{24, 4}));  // W_xc_static
  EXPECT_EQ(layer->blobs()[3]->shape(), (std::vector<int64_t>{24, 6}));  // W_hc
  Blobs<float> plain(lstm_cases()[0], 6, 1);
  auto layer2 = make_layer<float>(lstm_text(6, false), ctx, plain.bottom, plain.top);
  ASSERT_EQ(layer2->blobs().size(), 3u);
  EXPECT_EQ(layer2->blobs()[2]->shape(), (std::vector<int64_t>{24, 6}));  // W_hc
  EXPECT_STREQ(layer2->type(), "LSTM");
  EXPECT_FALSE(layer2->allow_force_backward(1));
  EXPECT_TRUE(layer2->allow_force_backward(0));
}

// Without expose_hidden, a forward starts from the previous forward's final state, gated by
// cont at t = 0 (Caffe's RecurrentLayer); a change of N starts from zero again.
TEST(Lstm, StateCarriesOverBetweenForwards) {
  Context ctx = Context::cpu(1);
  const int64_t hid = 6;
  LstmCase c = lstm_cases()[0];
  Blobs<double> b(c, hid, 5);
  auto layer = make_layer<double>(lstm_text(hid, false), ctx, b.bottom, b.top);
  layer->forward(ctx, b.bottom, b.top);
  const auto first = reference(*layer, b, hid);  // zero initial state
  expect_matches(first.h, b.h.cpu_data(), b.h.count(), 1e-12, "first forward");
  const std::string saved = layer->save_state();

  // Second batch: streams 0 and 2 continue (cont_0 = 1), stream 1 starts afresh.
  fill_uniform(b.x, -1, 1, 6);
  b.cont.mutable_cpu_data()[0] = 1;
  b.cont.mutable_cpu_data()[1] = 0;
  b.cont.mutable_cpu_data()[2] = 1;
  layer->forward(ctx, b.bottom, b.top);
  const auto second = reference(*layer, b, hid, first.h_last.data(), first.c_last.data());
  expect_matches(second.h, b.h.cpu_data(), b.h.count(), 1e-12, "second forward");
  const auto zero_start = reference(*layer, b, hid);
  EXPECT_GT(std::fabs(zero_start.h[0] - b.h.cpu_data()[0]), 1e-6) << "state was not carried";

  // A new layer given the saved state continues exactly like the original did.
  auto resumed = make_layer<double>(lstm_text(hid, false), ctx, b.bottom, b.top);
  resumed->load_state(saved);
  Tensor<double> h2;
  TensorVec<double> top2{&h2};
  resumed->forward(ctx, b.bottom, top2);
  ASSERT_EQ(h2.count(), b.h.count());
  EXPECT_EQ(0, std::memcmp(h2.cpu_data(), b.h.cpu_data(), sizeof(double) * h2.count()));

  // N changes: zero state, even where cont_0 = 1.
  LstmCase two = c;
  two.x_shape = {4, 2, 5};
  two.cont = {1, 1, 1, 1, 1, 0, 1, 1};
  Blobs<double> b2(two, hid, 8);
  layer->forward(ctx, b2.bottom, b2.top);
  const auto after_resize = reference(*layer, b2, hid);
  expect_matches(after_resize.h, b2.h.cpu_data(), b2.h.count(), 1e-12, "after N change");
}

TEST(Lstm, BadSavedStateThrows) {
  Context ctx = Context::cpu(1);
  Blobs<float> b(lstm_cases()[0], 6, 5);
  auto layer = make_layer<float>(lstm_text(6, false), ctx, b.bottom, b.top);
  EXPECT_THROW(layer->load_state("12"), DataError);
  std::string s = layer->save_state();
  EXPECT_THROW(layer->load_state(s.substr(0, s.size() - 1)), DataError);
  Blobs<float> b7(lstm_cases()[0], 7, 5);
  auto other = make_layer<float>(lstm_text(7, false), ctx, b7.bottom, b7.top);
  EXPECT_THROW(other->load_state(s), DataError);  // H = 6 state into H = 7
  EXPECT_NO_THROW(layer->load_state(s));
}

TEST(Lstm, GradientDouble) {
  std::vector<LstmCase> cases = lstm_cases();
  // Without expose_hidden every stream starts a sequence at t = 0, so the repeated forwards of
  // the check do not depend on the carried state. One cont value is fractional: it scales both
  // the recurrent input and the forget path.
  cases[0].cont = {0, 0, 0, 1, 0.5, 1, 1, 0, 1, 1, 1, 0};
  cases[2].cont = kContFresh;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    Context ctx = Context::cpu(1);
    Blobs<double> b(c, 6, 13);
    auto layer = make_layer<double>(lstm_text(6, c.expose), ctx, b.bottom, b.top);
    test::GradCheck opt;
    for (int i = 0; i < static_cast<int>(b.bottom.size()); ++i)
      if (i != 1) opt.bottoms.push_back(i);
    check_gradient(*layer, ctx, b.bottom, b.top, opt);
  }
}

// The initial state's gradients are not trivially zero (the check above would pass on zeros).
TEST(Lstm, InitialStateGetsGradient) {
  Context ctx = Context::cpu(1);
  LstmCase c = lstm_cases()[3];
  Blobs<double> b(c, 6, 17);
  auto layer = make_layer<double>(lstm_text(6, true), ctx, b.bottom, b.top);
  layer->forward(ctx, b.bottom, b.top);
  for (Tensor<double>* t : b.top) t->set_diff(1.0);
  layer->backward(ctx, b.top, {true, false, true, true}, b.bottom);
  // Stream 2 continues from h_0 / c_0 (cont_0 = 1), streams 0 and 1 do not.
  const int64_t hid = 6;
  for (Tensor<double>* t : {&b.h0, &b.c0}) {
    for (int64_t j = 0; j < hid; ++j) {
      EXPECT_EQ(t->cpu_diff()[0 * hid + j], 0.0);
      EXPECT_EQ(t->cpu_diff()[1 * hid + j], 0.0);
    }
    double sum = 0;
    for (int64_t j = 0; j < hid; ++j) sum += std::fabs(t->cpu_diff()[2 * hid + j]);
    EXPECT_GT(sum, 1e-6);
  }
}

// Backward adds to parameter diffs (the net zeroes them once per iteration), writes bottom diffs,
// and gives a forced cont gradient of zero.
TEST(Lstm, ParameterDiffsAccumulate) {
  Context ctx = Context::cpu(1);
  LstmCase c = lstm_cases()[4];
  Blobs<double> b(c, 6, 3);
  auto layer = make_layer<double>(lstm_text(6, true), ctx, b.bottom, b.top);
  layer->forward(ctx, b.bottom, b.top);
  for (size_t k = 0; k < b.top.size(); ++k) {
    fill_uniform(*b.top[k], -1, 1, 40 + k);
    std::copy(b.top[k]->cpu_data(), b.top[k]->cpu_data() + b.top[k]->count(),
              b.top[k]->mutable_cpu_diff());
  }
  for (auto& p : layer->blobs()) p->set_diff(0.0);
  const std::vector<bool> down(b.bottom.size(), true);
  layer->backward(ctx, b.top, down, b.bottom);
  std::vector<std::vector<double>> once, bottoms;
  for (auto& p : layer->blobs()) {
    once.emplace_back(p->cpu_diff(), p->cpu_diff() + p->count());
    for (double& v : once.back()) v *= 2;
  }
  for (auto* t : b.bottom) bottoms.emplace_back(t->cpu_diff(), t->cpu_diff() + t->count());
  for (auto* t : b.bottom) t->set_diff(5.0);
  layer->backward(ctx, b.top, down, b.bottom);
  for (size_t i = 0; i < once.size(); ++i)
    test::expect_near(layer->blobs()[i]->cpu_diff(), once[i].data(), layer->blobs()[i]->count(),
                      1e-12, "param diff");
  for (size_t i = 0; i < bottoms.size(); ++i)
    test::expect_near(b.bottom[i]->cpu_diff(), bottoms[i].data(), b.bottom[i]->count(), 1e-12,
                      "bottom diff");
  for (int64_t i = 0; i < b.cont.count(); ++i) EXPECT_EQ(b.cont.cpu_diff()[i], 0.0);
}

// Every kernel body is GATHER: 1 and 2 threads agree bitwise. N*H = 320 work items, above the
// threshold where parallel_for uses more than one thread.
TEST(Lstm, ThreadsBitwiseEqual) {
  const LstmCase c{"threads", {3, 8, 7}, {8, 3}, true, std::vector<double>(24, 1.0)};
  const int64_t hid = 40;
  std::vector<std::vector<float>> results[2];
  for (int run = 0; run < 2; ++run) {
    Context ctx = Context::cpu(run + 1);
    Blobs<float> b(c, hid, 9);
    b.cont.mutable_cpu_data()[5] = 0;
    b.cont.mutable_cpu_data()[12] = 0;
    auto layer = make_layer<float>(lstm_text(hid, true), ctx, b.bottom, b.top);
    layer->forward(ctx, b.bottom, b.top);
    for (size_t k = 0; k < b.top.size(); ++k) {
      Tensor<float> r(b.top[k]->shape());
      fill_uniform(r, -1, 1, 50 + k);
      std::copy(r.cpu_data(), r.cpu_data() + r.count(), b.top[k]->mutable_cpu_diff());
    }
    for (auto& p : layer->blobs()) p->set_diff(0.0f);
    layer->backward(ctx, b.top, {true, false, true, true, true}, b.bottom);
    auto keep = [&](const float* p, int64_t n) { results[run].emplace_back(p, p + n); };
    for (auto* t : b.top) keep(t->cpu_data(), t->count());
    for (size_t i = 0; i < b.bottom.size(); ++i)
      if (i != 1) keep(b.bottom[i]->cpu_diff(), b.bottom[i]->count());
    for (auto& p : layer->blobs()) keep(p->cpu_diff(), p->count());
  }
  ASSERT_EQ(results[0].size(), results[1].size());
  for (size_t i = 0; i < results[0].size(); ++i) {
    ASSERT_EQ(results[0][i].size(), results[1][i].size());
    EXPECT_EQ(0, std::memcmp(results[0][i].data(), results[1][i].data(),
                             sizeof(float) * results[0][i].size()))
        << "array " << i;
  }
}

TEST(Lstm, ErrorsThrow) {
  Context ctx = Context::cpu(1);
  const LstmCase c = lstm_cases()[0];
  Blobs<float> b(c, 6, 1);
  // num_output 0 (the default).
  EXPECT_THROW(make_layer<float>(lstm_text(0, false), ctx, b.bottom, b.top), ConfigError);
  EXPECT_THROW(make_layer<float>("name: 'l' type: 'LSTM'", ctx, b.bottom, b.top), ConfigError);
  // Missing cont.
  TensorVec<float> x_only{&b.x};
  EXPECT_THROW(make_layer<float>(lstm_text(6, false), ctx, x_only, b.top), ConfigError);
  // cont not T x N.
  Tensor<float> cont3({4, 3, 1}), cont_t({3, 3}), cont_n({4, 2});
  for (Tensor<float>* bad : {&cont3, &cont_t, &cont_n}) {
    TensorVec<float> bottom{&b.x, bad};
    EXPECT_THROW(make_layer<float>(lstm_text(6, false), ctx, bottom, b.top), ShapeError)
        << bad->shape_string();
  }
  // x_static with another batch size than x.
  Tensor<float> xs({2, 4});
  TensorVec<float> with_static{&b.x, &b.cont, &xs};
  EXPECT_THROW(make_layer<float>(lstm_text(6, false), ctx, with_static, b.top), ShapeError);
  // x without an input axis.
  Tensor<float> x2({4, 3});
  TensorVec<float> flat{&x2, &b.cont};
  EXPECT_THROW(make_layer<float>(lstm_text(6, false), ctx, flat, b.top), ShapeError);
  // expose_hidden: needs h_0 and c_0 (1 x N x H) and three tops.
  Tensor<float> h0({1, 3, 6}), c0({1, 3, 6}), c0_bad({1, 3, 5}), y, hT, cT;
  TensorVec<float> three_tops{&y, &hT, &cT};
  EXPECT_THROW(make_layer<float>(lstm_text(6, true), ctx, b.bottom, three_tops), ConfigError);
  TensorVec<float> exposed{&b.x, &b.cont, &h0, &c0};
  EXPECT_THROW(make_layer<float>(lstm_text(6, true), ctx, exposed, b.top), ConfigError);
  TensorVec<float> exposed_bad{&b.x, &b.cont, &h0, &c0_bad};
  EXPECT_THROW(make_layer<float>(lstm_text(6, true), ctx, exposed_bad, three_tops), ShapeError);
  EXPECT_NO_THROW(make_layer<float>(lstm_text(6, true), ctx, exposed, three_tops));
  // Three tops without expose_hidden.
  EXPECT_THROW(make_layer<float>(lstm_text(6, false), ctx, b.bottom, three_tops), ConfigError);
  // The input size is fixed at setup; T and N may change.
  auto layer = make_layer<float>(lstm_text(6, false), ctx, b.bottom, b.top);
  Tensor<float> x7({4, 3, 7});
  TensorVec<float> wider{&x7, &b.cont};
  EXPECT_THROW(layer->forward(ctx, wider, b.top), ShapeError);
  Tensor<float> x_long({6, 2, 5}), cont_long({6, 2});
  TensorVec<float> longer{&x_long, &cont_long};
  layer->forward(ctx, longer, b.top);
  EXPECT_EQ(b.h.shape(), (std::vector<int64_t>{6, 2, 6}));
}

// Input -> LSTM -> InnerProduct -> EuclideanLoss learns the running sum of its inputs (reset
// where cont is 0) with the Solver.
TEST(Lstm, LearnsRunningSumWithSolver) {
  const int steps = 8, streams = 16;
  const std::string net = R"(
name: "lstm_sum"
layer { name: "in" type: "Input" top: "x" top: "cont" top: "y"
        input_param { shape { dim: 8 dim: 16 dim: 1 } shape { dim: 8 dim: 16 }
                      shape { dim: 8 dim: 16 dim: 1 } } }
layer { name: "lstm" type: "LSTM" bottom: "x" bottom: "cont" top: "h"
        recurrent_param { num_output: 16 weight_filler { type: "uniform" min: -0.3 max: 0.3 }
                          bias_filler { type: "constant" value: 0 } } }
layer { name: "out" type: "InnerProduct" bottom: "h" top: "pred"
        inner_product_param { num_output: 1 axis: 2 weight_filler { type: "gaussian" std: 0.3 } } }
layer { name: "loss" type: "EuclideanLoss" bottom: "pred" bottom: "y" top: "loss" }
)";
  SolverParameter p;
  parse_text_proto(
      "type: 'Adam' base_lr: 0.02 momentum: 0.9 momentum2: 0.999 lr_policy: 'fixed' "
      "max_iter: 200 random_seed: 3",
      "solver", &p);
  parse_text_proto(net, "net", p.mutable_net_param());
  Context ctx = Context::cpu(1);
  Solver<float> solver(p, ctx);
  solver.set_logger([](const std::string&) {});
  Net<float>& n = solver.net();
  Tensor<float>& x = *n.blob_by_name("x");
  Tensor<float>& cont = *n.blob_by_name("cont");
  Tensor<float>& y = *n.blob_by_name("y");
  fill_uniform(x, -0.5, 0.5, 77);
  for (int s = 0; s < streams; ++s) {
    float sum = 0;
    for (int t = 0; t < steps; ++t) {
      const int k = t * streams + s;
      // Every stream starts at t = 0; odd streams start a second sequence at t = 4.
      const bool start = t == 0 || (t == 4 && s % 2 == 1);
      cont.mutable_cpu_data()[k] = start ? 0.0f : 1.0f;
      sum = (start ? 0.0f : sum) + x.cpu_data()[k];
      y.mutable_cpu_data()[k] = sum;
    }
  }
  solver.step(200);
  const auto& losses = solver.loss_history();
  ASSERT_EQ(losses.size(), 200u);
  double tail = 0;
  for (size_t i = losses.size() - 5; i < losses.size(); ++i) tail += losses[i] / 5;
  EXPECT_LT(tail, losses.front() / 10) << "first loss " << losses.front();
}

// Bottoms of the GPU comparison: uniform values, except cont (bottom 1, T x N): at t = 0 the
// odd streams continue (the carried state, or h_0 / c_0) and the even ones start fresh; later
// steps restart some streams mid-sequence; one value is fractional.
template <class T>
test::BottomFill<T> gpu_lstm_fill() {
  return [](size_t b, Tensor<T>& t, uint64_t seed) {
    if (b != 1) {
      fill_uniform(t, -1, 1, seed);
      return;
    }
    const int64_t steps = t.shape(0), streams = t.shape(1);
    T* cont = t.mutable_cpu_data();
    for (int64_t s = 0; s < steps; ++s)
      for (int64_t n = 0; n < streams; ++n)
        cont[s * streams + n] =
            s == 0 ? T(n % 2) : T((static_cast<uint64_t>(s + n) + seed) % 3 == 0 ? 0 : 1);
    if (steps > 1) cont[streams] = T(0.5);
  };
}

template <class T>
void expect_gpu_lstm(int64_t hid, bool expose, const std::vector<std::vector<int64_t>>& shapes,
                     const std::vector<bool>& down, int rounds, double tol) {
  test::expect_gpu_matches_cpu<T>(
      lstm_text(static_cast<int>(hid), expose), shapes,
      {.tol = tol, .num_tops = expose ? 3 : 1, .rounds = rounds, .propagate_down = down},
      gpu_lstm_fill<T>());
}

// The GPU path (cuBLAS GEMMs, launchers of the step bodies) against the CPU: cont with resets and
// continuations, x_static, expose_hidden (h_0 / c_0 bottoms, h_T / c_T tops), both together, a
// forced cont gradient (zero), and N * H above one block of threads. Two rounds where the shapes
// allow (x and cont grow in T; N stays, so the second round continues the carried state).
// cuBLAS sums in its own order: 1e-4 in float, 1e-10 in double.
TEST(GpuLstm, MatchesCpu) {
  CREMA_REQUIRE_GPU();
  struct GpuCase {
    std::string what;
    int64_t hid;
    bool expose;
    std::vector<std::vector<int64_t>> shapes;
    std::vector<bool> down;
    int rounds;
  };
  const std::vector<GpuCase> cases = {
      {"plain", 6, false, {{4, 3, 5}, {4, 3}}, {true, false}, 2},
      {"forced cont gradient", 6, false, {{4, 3, 5}, {4, 3}}, {true, true}, 2},
      {"x is 4-d", 6, false, {{4, 3, 1, 5}, {4, 3}}, {true, false}, 2},
      // x_static and h_0 / c_0 are N x ...: one round (the harness grows every bottom's axis 0).
      {"x_static", 6, false, {{4, 3, 5}, {4, 3}, {3, 2, 2}}, {true, false, true}, 1},
      {"expose_hidden",
       6,
       true,
       {{4, 3, 5}, {4, 3}, {1, 3, 6}, {1, 3, 6}},
       {true, false, true, true},
       1},
      {"x_static + expose_hidden",
       6,
       true,
       {{4, 3, 5}, {4, 3}, {3, 4}, {1, 3, 6}, {1, 3, 6}},
       {true, false, true, true, true},
       1},
      {"N * H = 320",
       40,
       true,
       {{3, 8, 7}, {3, 8}, {8, 3}, {1, 8, 40}, {1, 8, 40}},
       {true, false, true, true, true},
       1},
  };
  for (const GpuCase& c : cases) {
    SCOPED_TRACE(c.what);
    expect_gpu_lstm<float>(c.hid, c.expose, c.shapes, c.down, c.rounds, 1e-4);
    expect_gpu_lstm<double>(c.hid, c.expose, c.shapes, c.down, c.rounds, 1e-10);
  }
}

}  // namespace
}  // namespace crema
