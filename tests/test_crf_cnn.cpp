// CRF-CNN message passing (models/crf_cnn/message_passing.prototxt): built from standard layers
// with each edge's weights shared by name across the unrolled iterations. Checks the sharing
// (one blob per edge, gradients summed over every iteration against a numeric gradient) and
// that the net computes the recurrences as written, against a direct naive computation.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "core/net.h"
#include "tests/test_util.h"

namespace crema {
namespace {

constexpr int kJoints = 3, kDim = 2, kSize = 9, kIterations = 3, kKernel = 5;
const int kEdges[4][2] = {{0, 1}, {1, 0}, {1, 2}, {2, 1}};

std::string model_path() {
  return std::string(CREMA_SOURCE_DIR) + "/models/crf_cnn/message_passing.prototxt";
}

std::string edge_name(int e) {
  return std::to_string(kEdges[e][0]) + "to" + std::to_string(kEdges[e][1]);
}

using Map = std::vector<double>;  // channels x kSize x kSize

// Naive "same" convolution: out[o][y][x] = b[o] + sum_{c,ky,kx} w[o][c][ky][kx] *
// in[c][y + ky - pad][x + kx - pad], zero outside.
Map conv_same(const Map& in, int cin, const double* w, const double* b, int cout, int k) {
  const int pad = k / 2;
  Map out(static_cast<size_t>(cout * kSize * kSize), 0.0);
  for (int o = 0; o < cout; ++o)
    for (int y = 0; y < kSize; ++y)
      for (int x = 0; x < kSize; ++x) {
        double s = b[o];
        for (int c = 0; c < cin; ++c)
          for (int ky = 0; ky < k; ++ky)
            for (int kx = 0; kx < k; ++kx) {
              const int iy = y + ky - pad, ix = x + kx - pad;
              if (iy < 0 || iy >= kSize || ix < 0 || ix >= kSize) continue;
              s += w[((o * cin + c) * k + ky) * k + kx] * in[(c * kSize + iy) * kSize + ix];
            }
        out[(o * kSize + y) * kSize + x] = s;
      }
  return out;
}

const Tensor<double>& layer_blob(const Net<double>& net, const std::string& layer, int k) {
  const int i = net.layer_index(layer);
  EXPECT_GE(i, 0) << layer;
  return *net.layers()[i]->blobs()[k];
}

// The recurrences of the README, computed directly from the input and the net's parameters;
// returns the heat maps (kJoints x kSize x kSize).
Map naive_heatmaps(const Net<double>& net) {
  const double* h0 = net.blob_by_name("h0")->cpu_data();
  const int plane = kDim * kSize * kSize;
  std::vector<Map> base(kJoints), h(kJoints);
  for (int j = 0; j < kJoints; ++j) base[j].assign(h0 + j * plane, h0 + (j + 1) * plane);
  h = base;
  for (int t = 1; t <= kIterations; ++t) {
    std::vector<Map> next = base;
    for (int e = 0; e < 4; ++e) {
      // Every iteration uses the first iteration's layer blobs: the same parameters.
      const std::string layer = "msg_" + edge_name(e) + "_t1";
      const Map m = conv_same(h[kEdges[e][0]], kDim, layer_blob(net, layer, 0).cpu_data(),
                              layer_blob(net, layer, 1).cpu_data(), kDim, kKernel);
      for (size_t i = 0; i < m.size(); ++i) next[kEdges[e][1]][i] += m[i];
    }
    for (auto& m : next)
      for (double& v : m) v = std::max(v, 0.0);
    h = next;
  }
  Map heat;
  for (int j = 0; j < kJoints; ++j) {
    const std::string layer = "score_" + std::to_string(j);
    const Map s = conv_same(h[j], kDim, layer_blob(net, layer, 0).cpu_data(),
                            layer_blob(net, layer, 1).cpu_data(), 1, 1);
    heat.insert(heat.end(), s.begin(), s.end());
  }
  return heat;
}

void fill_inputs(Net<double>& net, uint64_t seed) {
  test::fill_uniform(*net.blob_by_name("h0"), -1, 1, seed);
  test::fill_uniform(*net.blob_by_name("target"), -1, 1, seed + 1);
}

TEST(CrfCnn, SharedEdgeWeightsAreOneBlobAcrossIterations) {
  Context ctx = Context::cpu(1);
  Net<double> net(model_path(), ctx, TRAIN);
  // 4 edges x 3 iterations x (weights, bias) + 3 score convolutions x 2.
  EXPECT_EQ(net.params().size(), 4u * kIterations * 2 + kJoints * 2);
  EXPECT_EQ(net.learnable_params().size(), 4u * 2 + kJoints * 2);
  for (int e = 0; e < 4; ++e) {
    for (int k = 0; k < 2; ++k) {
      const auto& first = layer_blob(net, "msg_" + edge_name(e) + "_t1", k);
      for (int t = 2; t <= kIterations; ++t) {
        const auto& other = layer_blob(net, "msg_" + edge_name(e) + "_t" + std::to_string(t), k);
        EXPECT_TRUE(other.shares_data_with(first)) << edge_name(e) << " t" << t;
        EXPECT_EQ(other.cpu_diff(), first.cpu_diff()) << edge_name(e) << " t" << t;
      }
      // Different edges have different parameters.
      if (e > 0) {
        EXPECT_FALSE(first.shares_data_with(layer_blob(net, "msg_" + edge_name(0) + "_t1", k)));
      }
    }
  }
}

TEST(CrfCnn, ForwardEqualsNaiveRecurrence) {
  Context ctx = Context::cpu(1);
  Net<double> net(model_path(), ctx, TRAIN);
  for (uint64_t seed : {1u, 2u}) {
    fill_inputs(net, seed);
    const double loss = net.forward();
    const Map want = naive_heatmaps(net);
    const auto& heat = *net.blob_by_name("heatmaps");
    ASSERT_EQ(static_cast<size_t>(heat.count()), want.size());
    test::expect_near(heat.cpu_data(), want.data(), heat.count(), 1e-12, "heatmaps");
    const double* target = net.blob_by_name("target")->cpu_data();
    double want_loss = 0;
    for (size_t i = 0; i < want.size(); ++i) want_loss += std::pow(want[i] - target[i], 2);
    EXPECT_NEAR(loss, want_loss / 2, 1e-12);
    // The messages matter: with them removed the maps differ.
    EXPECT_GT(net.blob_by_name("m_0to1_t3")->asum_data(), 0.0);
  }
}

// The gradient of each shared blob sums its contributions from all three iterations: compare
// with central differences that perturb the one storage (moving every iteration at once), and
// check that a single iteration's contribution alone would not match.
TEST(CrfCnn, SharedGradientsAccumulateOverIterations) {
  Context ctx = Context::cpu(1);
  Net<double> net(model_path(), ctx, TRAIN);
  fill_inputs(net, 3);
  net.clear_param_diffs();
  net.forward_backward();
  for (int e = 0; e < 4; ++e) {
    for (int k = 0; k < 2; ++k) {
      const std::string layer = "msg_" + edge_name(e) + "_t1";
      Tensor<double>& p = const_cast<Tensor<double>&>(layer_blob(net, layer, k));
      const std::vector<double> analytic(p.cpu_diff(), p.cpu_diff() + p.count());
      const int64_t step = k == 0 ? 7 : 1;  // every 7th weight keeps the test fast
      for (int64_t i = 0; i < p.count(); i += step) {
        const double saved = p.cpu_data()[i], h = 1e-6;
        p.mutable_cpu_data()[i] = saved + h;
        const double fp = net.forward();
        p.mutable_cpu_data()[i] = saved - h;
        const double fm = net.forward();
        p.mutable_cpu_data()[i] = saved;
        const double numeric = (fp - fm) / (2 * h);
        EXPECT_NEAR(analytic[i], numeric, 1e-7 * std::max(1.0, std::fabs(numeric)))
            << layer << " blob " << k << " [" << i << "]";
      }
    }
  }
  // The last iteration's messages alone: the gradient of the loss with respect to the bias of
  // edge 0->1 at t = 3 is the sum of that message's top diff; the shared gradient must differ
  // from it (earlier iterations contribute).
  net.forward_backward();
  net.clear_param_diffs();
  net.backward();
  const auto& m3 = *net.blob_by_name("m_0to1_t3");
  const int64_t plane = kSize * kSize;
  const double* shared = layer_blob(net, "msg_0to1_t1", 1).cpu_diff();
  for (int c = 0; c < kDim; ++c) {
    double last = 0;
    for (int64_t i = 0; i < plane; ++i) last += m3.cpu_diff()[c * plane + i];
    EXPECT_GT(std::fabs(shared[c] - last), 1e-6) << "channel " << c;
  }
}

}  // namespace
}  // namespace crema
