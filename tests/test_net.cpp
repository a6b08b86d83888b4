// Net graph construction: phases and rules, splits, in-place, loss weights, sharing, backward
// pruning, weights I/O, and the errors users see.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "core/io.h"
#include "core/net.h"
#include "tests/test_util.h"

namespace crema {
namespace {

std::unique_ptr<Net<double>> build(const std::string& text, Context& ctx, Phase phase = TRAIN,
                                   std::vector<std::string> stages = {}, int level = 0) {
  NetParameter p;
  TextLocations where;
  parse_text_proto(text, "net.prototxt", &p, &where);
  NetState s;
  s.set_phase(phase);
  s.set_level(level);
  for (auto& st : stages) s.add_stage(st);
  return std::make_unique<Net<double>>(p, ctx, s, &where);
}

const char* kMlp = R"(
name: "mlp"
layer { name: "in" type: "Input" top: "x" top: "y"
        input_param { shape { dim: 4 dim: 3 } shape { dim: 4 dim: 2 } } }
layer { name: "ip1" type: "InnerProduct" bottom: "x" top: "h"
        inner_product_param { num_output: 5 weight_filler { type: "gaussian" std: 0.5 }
                              bias_filler { type: "gaussian" std: 0.1 } } }
layer { name: "relu" type: "ReLU" bottom: "h" top: "h" }
layer { name: "ip2" type: "InnerProduct" bottom: "h" top: "out"
        inner_product_param { num_output: 2 weight_filler { type: "gaussian" std: 0.5 } } }
layer { name: "loss" type: "EuclideanLoss" bottom: "out" bottom: "y" top: "loss" }
)";

void fill_inputs(Net<double>& net, uint64_t seed) {
  test::fill_uniform(*net.blob_by_name("x"), -1, 1, seed);
  test::fill_uniform(*net.blob_by_name("y"), -1, 1, seed + 1);
}

TEST(Net, BuildsForwardBackwardAndInPlace) {
  Context ctx = Context::cpu(1);
  auto net = build(kMlp, ctx);
  EXPECT_EQ(net->layers().size(), 5u);
  EXPECT_EQ(net->learnable_params().size(), 4u);
  fill_inputs(*net, 1);
  const double loss = net->forward();
  // Independent loss computation from the blobs.
  const auto& out = *net->blob_by_name("out");
  const auto& y = *net->blob_by_name("y");
  double want = 0;
  for (int i = 0; i < 8; ++i) want += std::pow(out.cpu_data()[i] - y.cpu_data()[i], 2);
  EXPECT_NEAR(loss, want / 8, 1e-12);
  // In-place ReLU: 'h' is one blob shared by ip1's top and relu's top.
  EXPECT_EQ(net->top_vecs()[1][0], net->top_vecs()[2][0]);
  for (int i = 0; i < 4 * 5; ++i) EXPECT_GE(net->blob_by_name("h")->cpu_data()[i], 0.0);
  net->clear_param_diffs();
  net->backward();
  EXPECT_GT(net->learnable_params()[0]->asum_diff(), 0.0);
  EXPECT_FALSE(net->layer_need_backward(0));  // Input has nothing to learn
}

TEST(Net, NumericGradientThroughWholeNet) {
  Context ctx = Context::cpu(1);
  auto net = build(kMlp, ctx);
  fill_inputs(*net, 3);
  net->clear_param_diffs();
  net->forward_backward();
  Tensor<double>& w = *net->learnable_params()[0];
  std::vector<double> analytic(w.cpu_diff(), w.cpu_diff() + w.count());
  for (int i = 0; i < w.count(); ++i) {
    const double saved = w.cpu_data()[i], h = 1e-5;
    w.mutable_cpu_data()[i] = saved + h;
    const double fp = net->forward();
    w.mutable_cpu_data()[i] = saved - h;
    const double fm = net->forward();
    w.mutable_cpu_data()[i] = saved;
    EXPECT_NEAR(analytic[i], (fp - fm) / (2 * h), 1e-6) << "weight " << i;
  }
}

TEST(Net, InsertsSplitsForFanOutAndSumsGradients) {
  Context ctx = Context::cpu(1);
  auto net = build(R"(
layer { name: "in" type: "Input" top: "x" top: "y" input_param { shape { dim: 2 dim: 3 } } }
layer { name: "ip" type: "InnerProduct" bottom: "x" top: "h"
        inner_product_param { num_output: 3 weight_filler { type: "gaussian" std: 1 } } }
layer { name: "l1" type: "EuclideanLoss" bottom: "h" bottom: "y" top: "a" }
layer { name: "l2" type: "EuclideanLoss" bottom: "h" bottom: "x" top: "b" loss_weight: 2 }
)", ctx);
  bool found_split = false;
  for (const auto& l : net->layers()) found_split |= std::string(l->type()) == "Split";
  EXPECT_TRUE(found_split);
  fill_inputs(*net, 5);
  net->clear_param_diffs();
  const double loss = net->forward_backward();
  // Reference: the same two losses with the gradient of each computed separately.
  auto a = build(R"(
layer { name: "in" type: "Input" top: "x" top: "y" input_param { shape { dim: 2 dim: 3 } } }
layer { name: "ip" type: "InnerProduct" bottom: "x" top: "h"
        inner_product_param { num_output: 3 weight_filler { type: "gaussian" std: 1 } } }
layer { name: "l1" type: "EuclideanLoss" bottom: "h" bottom: "y" top: "a" })", ctx);
  auto b = build(R"(
layer { name: "in" type: "Input" top: "x" top: "y" input_param { shape { dim: 2 dim: 3 } } }
layer { name: "ip" type: "InnerProduct" bottom: "x" top: "h"
        inner_product_param { num_output: 3 weight_filler { type: "gaussian" std: 1 } } }
layer { name: "l2" type: "EuclideanLoss" bottom: "h" bottom: "x" top: "b" loss_weight: 2 })",
                 ctx);
  double la = 0, lb = 0;
  for (auto* n : {a.get(), b.get()}) {
    n->blob_by_name("x")->copy_from(*net->blob_by_name("x"));
    n->blob_by_name("y")->copy_from(*net->blob_by_name("y"));
    n->clear_param_diffs();
  }
  la = a->forward_backward();
  lb = b->forward_backward();
  EXPECT_NEAR(loss, la + lb, 1e-12);
  const auto& g = *net->learnable_params()[0];
  for (int i = 0; i < g.count(); ++i)
    EXPECT_NEAR(g.cpu_diff()[i],
                a->learnable_params()[0]->cpu_diff()[i] + b->learnable_params()[0]->cpu_diff()[i],
                1e-12);
}

TEST(Net, PhaseStageAndLevelRules) {
  Context ctx = Context::cpu(1);
  const char* text = R"(
layer { name: "in" type: "Input" top: "x" input_param { shape { dim: 1 dim: 2 } } }
layer { name: "train_only" type: "ReLU" bottom: "x" top: "t" include { phase: TRAIN } }
layer { name: "test_only" type: "ReLU" bottom: "x" top: "u" include { phase: TEST } }
layer { name: "staged" type: "ReLU" bottom: "x" top: "s" include { stage: "deploy" } }
layer { name: "not_staged" type: "ReLU" bottom: "x" top: "n" exclude { stage: "deploy" } }
layer { name: "leveled" type: "ReLU" bottom: "x" top: "l" include { min_level: 2 } }
)";
  auto names = [](const Net<double>& n) {
    std::set<std::string> s(n.layer_names().begin(), n.layer_names().end());
    return s;
  };
  auto train = names(*build(text, ctx, TRAIN));
  EXPECT_TRUE(train.count("train_only") && !train.count("test_only"));
  EXPECT_TRUE(!train.count("staged") && train.count("not_staged") && !train.count("leveled"));
  auto test = names(*build(text, ctx, TEST, {"deploy"}, 3));
  EXPECT_TRUE(!test.count("train_only") && test.count("test_only"));
  EXPECT_TRUE(test.count("staged") && !test.count("not_staged") && test.count("leveled"));
}

TEST(Net, SharedParametersAccumulateIntoOneOwner) {
  Context ctx = Context::cpu(1);
  auto net = build(R"(
layer { name: "in" type: "Input" top: "x" top: "y" input_param { shape { dim: 2 dim: 3 } } }
layer { name: "a" type: "InnerProduct" bottom: "x" top: "h" param { name: "w" } param { name: "b" }
        inner_product_param { num_output: 3 weight_filler { type: "gaussian" std: 1 } } }
layer { name: "b" type: "InnerProduct" bottom: "h" top: "o" param { name: "w" } param { name: "b" }
        inner_product_param { num_output: 3 weight_filler { type: "gaussian" std: 1 } } }
layer { name: "loss" type: "EuclideanLoss" bottom: "o" bottom: "y" top: "loss" }
)", ctx);
  ASSERT_EQ(net->params().size(), 4u);
  EXPECT_EQ(net->learnable_params().size(), 2u);
  EXPECT_EQ(net->params()[0]->cpu_data(), net->params()[2]->cpu_data());
  fill_inputs(*net, 9);
  net->clear_param_diffs();
  net->forward_backward();
  // Numeric gradient of the shared weight (perturbing the one storage moves both layers).
  Tensor<double>& w = *net->learnable_params()[0];
  std::vector<double> analytic(w.cpu_diff(), w.cpu_diff() + w.count());
  for (int i = 0; i < w.count(); ++i) {
    const double saved = w.cpu_data()[i], h = 1e-5;
    w.mutable_cpu_data()[i] = saved + h;
    const double fp = net->forward();
    w.mutable_cpu_data()[i] = saved - h;
    const double fm = net->forward();
    w.mutable_cpu_data()[i] = saved;
    EXPECT_NEAR(analytic[i], (fp - fm) / (2 * h), 1e-6);
  }
}

TEST(Net, LrMultZeroAndPropagateDownPruneBackward) {
  Context ctx = Context::cpu(1);
  auto net = build(R"(
layer { name: "in" type: "Input" top: "x" top: "y" input_param { shape { dim: 2 dim: 3 } } }
layer { name: "frozen" type: "InnerProduct" bottom: "x" top: "h" param { lr_mult: 0 } param { lr_mult: 0 }
        inner_product_param { num_output: 3 weight_filler { type: "gaussian" std: 1 } } }
layer { name: "ip" type: "InnerProduct" bottom: "h" top: "o"
        inner_product_param { num_output: 3 weight_filler { type: "gaussian" std: 1 } } }
layer { name: "loss" type: "EuclideanLoss" bottom: "o" bottom: "y" top: "loss"
        propagate_down: true propagate_down: false }
)", ctx);
  EXPECT_FALSE(net->layer_need_backward(1));  // frozen, and nothing below needs a gradient
  EXPECT_TRUE(net->layer_need_backward(2));
  EXPECT_FALSE(net->bottom_need_backward(3)[1]);
  EXPECT_EQ(net->params_lr()[0], 0.f);
  auto forced = build(std::string("force_backward: true\n") + R"(
layer { name: "in" type: "Input" top: "x" top: "y" input_param { shape { dim: 2 dim: 3 } } }
layer { name: "frozen" type: "InnerProduct" bottom: "x" top: "h" param { lr_mult: 0 } param { lr_mult: 0 }
        inner_product_param { num_output: 3 } }
layer { name: "loss" type: "EuclideanLoss" bottom: "h" bottom: "y" top: "loss" })", ctx);
  EXPECT_TRUE(forced->layer_need_backward(1));
}

TEST(Net, LegacyInputFieldsBecomeAnInputLayer) {
  Context ctx = Context::cpu(1);
  auto net = build(R"(
input: "data" input_dim: 2 input_dim: 3 input_dim: 4 input_dim: 5
layer { name: "r" type: "ReLU" bottom: "data" top: "r" })", ctx, TEST);
  EXPECT_EQ(net->blob_by_name("data")->shape(), (std::vector<int64_t>{2, 3, 4, 5}));
}

TEST(Net, ErrorsNameTheLayerFileAndLine) {
  Context ctx = Context::cpu(1);
  try {
    build(R"(layer { name: "in" type: "Input" top: "x" input_param { shape { dim: 1 dim: 2 } } }
layer { name: "r" type: "ReLU" bottom: "nope" top: "r" })", ctx);
    FAIL() << "expected an error";
  } catch (const ConfigError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("layer 'r' (ReLU) at net.prototxt:2"), std::string::npos) << m;
    EXPECT_NE(m.find("'nope'"), std::string::npos) << m;
    EXPECT_NE(m.find("'x'"), std::string::npos) << m;  // lists what is available
  }
  try {
    build(R"(layer { name: "in" type: "Inptu" top: "x" })", ctx);
    FAIL() << "expected an error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("did you mean 'Input'"), std::string::npos) << e.what();
  }
  EXPECT_THROW(build(R"(layer { name: "a" type: "Input" top: "x" input_param { shape { dim: 1 } } }
layer { name: "a" type: "ReLU" bottom: "x" top: "y" })", ctx), ConfigError);
  EXPECT_THROW(build(R"(layer { name: "a" type: "Input" top: "x" input_param { shape { dim: 1 } } }
layer { name: "b" type: "Input" top: "x" input_param { shape { dim: 1 } } })", ctx), ConfigError);
}

TEST(Net, WeightsRoundTripAndMismatchReport) {
  Context ctx = Context::cpu(1);
  auto net = build(kMlp, ctx);
  const auto dir = std::filesystem::temp_directory_path() / "crema_test_net_weights";
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "w.caffemodel").string();
  NetParameter np;
  net->to_proto(&np);
  write_checksummed_proto(path, &np);
  Context ctx2 = Context::cpu(1, 999);
  auto other = build(kMlp, ctx2);
  const WeightsReport r = other->copy_trained_layers_from(path);
  EXPECT_EQ(r.copied.size(), 2u);
  for (size_t k = 0; k < net->learnable_params().size(); ++k)
    for (int i = 0; i < net->learnable_params()[k]->count(); ++i)
      EXPECT_EQ(net->learnable_params()[k]->cpu_data()[i],
                other->learnable_params()[k]->cpu_data()[i]);
  std::string wider = kMlp;
  wider.replace(wider.find("num_output: 5"), 13, "num_output: 6");
  auto changed = build(wider, ctx);
  try {
    changed->copy_trained_layers_from(path, true);
    FAIL() << "expected a shape error";
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("layer 'ip1'"), std::string::npos) << e.what();
  }
  const WeightsReport fine = changed->copy_trained_layers_from(path, false);
  EXPECT_EQ(fine.mismatched.size(), 2u);  // ip1 and ip2 (its input width changed)
  EXPECT_TRUE(fine.copied.empty());
}

}  // namespace
}  // namespace crema

namespace crema {
namespace {

TEST(Net, LayerFixedParamSpecsWin) {
  // BatchNorm's statistics are not learned, even without `param { lr_mult: 0 }` in the file.
  Context ctx = Context::cpu(1);
  NetParameter p;
  parse_text_proto(R"(
layer { name: "in" type: "Input" top: "x" top: "y" input_param { shape { dim: 4 dim: 3 } } }
layer { name: "bn" type: "BatchNorm" bottom: "x" top: "b" }
layer { name: "loss" type: "EuclideanLoss" bottom: "b" bottom: "y" top: "l" })", "net", &p);
  NetState st;
  st.set_phase(TRAIN);
  Net<float> net(p, ctx, st);
  ASSERT_EQ(net.params_lr().size(), 3u);
  for (float lr : net.params_lr()) EXPECT_EQ(lr, 0.f);
  for (int k = 0; k < 3; ++k) EXPECT_FALSE(net.layers()[1]->param_propagate_down(k));
}

}  // namespace
}  // namespace crema
