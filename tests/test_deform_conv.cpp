#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/io.h"
#include "core/parallel.h"
#include "cuda_kernels/deform_conv.h"
#include "ops/deform_conv_layer.h"
#include "tests/cuda_test_util.h"
#include "tests/gpu_compare.h"
#include "tests/layer_checks.h"
#include "tests/reference/deform_conv_ref.h"
#include "tests/test_util.h"

namespace crema {
namespace {

using test::check_gradient;
using test::fill_uniform;
using test::GradCheck;
using test::make_layer;

const char* kFillers =
    " weight_filler { type: 'uniform' min: -1 max: 1 }"
    " bias_filler { type: 'uniform' min: -1 max: 1 } ";

std::string dcn_text(const std::string& params) {
  return "name: 'dcn' type: 'DeformableConvolution' deformable_convolution_param { " + params +
         kFillers + "}";
}

struct DcnCase {
  std::string params;
  ref::DeformGeom geom;
  int64_t num_output;
  std::vector<int64_t> shape;  // x: N, C, H, W
  bool modulated = false;
  bool bias = true;
};

std::vector<DcnCase> dcn_cases() {
  return {
      {"num_output: 4 kernel_size: 3 pad: 1", {3, 3, 1, 1, 1, 1}, 4, {2, 3, 5, 6}},
      {"num_output: 4 kernel_size: 3 pad: 1 modulated: true",
       {3, 3, 1, 1, 1, 1},
       4,
       {2, 3, 5, 6},
       true},
      {"num_output: 6 kernel_size: 3 pad: 2 dilation: 2 stride: 2 group: 2 deformable_group: 2 "
       "modulated: true",
       {3, 3, 2, 2, 2, 2, 2, 2, 2, 2},
       6,
       {2, 4, 7, 6},
       true},
      {"num_output: 2 kernel_h: 2 kernel_w: 3 stride_h: 2 stride_w: 1 pad_h: 1 pad_w: 0 "
       "deformable_group: 3 bias_term: false",
       {2, 3, 2, 1, 1, 0, 1, 1, 1, 3},
       2,
       {1, 3, 6, 7},
       false,
       false},
      {"num_output: 4 kernel_size: 3 group: 4 deformable_group: 4 modulated: true",
       {3, 3, 1, 1, 0, 0, 1, 1, 4, 4},
       4,
       {2, 4, 5, 5},
       true},
      {"num_output: 3 kernel_size: 1 modulated: true", {1, 1}, 3, {1, 2, 4, 3}, true},
  };
}

int64_t out_size(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d) {
  return (in + 2 * p - d * (k - 1) - 1) / s + 1;
}

// Tensors of one case: x, offset, mask (v2), top.
template <class T>
struct DcnBlobs {
  Tensor<T> x, offset, mask, y;
  TensorVec<T> bottom, top;

  DcnBlobs(const DcnCase& c) {
    const auto& g = c.geom;
    const int64_t oh = out_size(c.shape[2], g.kernel_h, g.stride_h, g.pad_h, g.dilation_h);
    const int64_t ow = out_size(c.shape[3], g.kernel_w, g.stride_w, g.pad_w, g.dilation_w);
    const int64_t taps = g.kernel_h * g.kernel_w;
    x.reshape(c.shape);
    offset.reshape({c.shape[0], 2 * g.deformable_group * taps, oh, ow});
    bottom = {&x, &offset};
    if (c.modulated) {
      mask.reshape({c.shape[0], g.deformable_group * taps, oh, ow});
      bottom.push_back(&mask);
    }
    top = {&y};
  }
};

// Offsets whose fractional part stays in [0.15, 0.85] (|offset| up to `amp`), so sampling
// positions keep away from integers, where the bilinear surface has kinks.
template <class T>
void fill_offsets_off_grid(Tensor<T>& t, int amp, uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::uniform_int_distribution<int> whole(-amp, amp - 1);
  std::uniform_real_distribution<double> frac(0.15, 0.85);
  T* d = t.mutable_cpu_data();
  for (int64_t i = 0; i < t.count(); ++i) d[i] = static_cast<T>(whole(gen) + frac(gen));
}

template <class T>
void fill_inputs(DcnBlobs<T>& b, uint64_t seed) {
  fill_uniform(b.x, -1, 1, seed);
  fill_offsets_off_grid(b.offset, 2, seed + 1);
  if (b.bottom.size() == 3) fill_uniform(b.mask, 0.05, 0.95, seed + 2);
}

template <class T>
void check_forward(const DcnCase& c, double tol) {
  SCOPED_TRACE(c.params);
  Context ctx = Context::cpu(1);
  DcnBlobs<T> b(c);
  fill_inputs(b, 11);
  auto layer = make_layer<T>(dcn_text(c.params), ctx, b.bottom, b.top);
  ASSERT_EQ(layer->blobs().size(), c.bias ? 2u : 1u);
  EXPECT_EQ(layer->blobs()[0]->shape(),
            (std::vector<int64_t>{c.num_output, c.shape[1] / c.geom.group, c.geom.kernel_h,
                                  c.geom.kernel_w}));
  layer->forward(ctx, b.bottom, b.top);
  int64_t oh, ow;
  const auto want = ref::deform_conv2d(
      b.x.cpu_data(), c.shape[0], c.shape[1], c.shape[2], c.shape[3], b.offset.cpu_data(),
      c.modulated ? b.mask.cpu_data() : static_cast<const T*>(nullptr),
      layer->blobs()[0]->cpu_data(), c.bias ? layer->blobs()[1]->cpu_data() : nullptr, c.num_output,
      c.geom, &oh, &ow);
  ASSERT_EQ(b.y.shape(), (std::vector<int64_t>{c.shape[0], c.num_output, oh, ow}));
  std::vector<T> want_t(want.begin(), want.end());
  test::expect_near(b.y.cpu_data(), want_t.data(), b.y.count(), tol, "top");
}

TEST(DeformConv, ForwardMatchesNaiveReferenceDouble) {
  for (const auto& c : dcn_cases()) check_forward<double>(c, 1e-12);
}

TEST(DeformConv, ForwardMatchesNaiveReferenceFloat) {
  for (const auto& c : dcn_cases()) check_forward<float>(c, 1e-5);
}

// Gradients of x, offset, mask, weight and bias against central differences.
TEST(DeformConv, GradientDouble) {
  for (const auto& c : dcn_cases()) {
    SCOPED_TRACE(c.params);
    Context ctx = Context::cpu(1);
    DcnBlobs<double> b(c);
    fill_inputs(b, 21);
    auto layer = make_layer<double>(dcn_text(c.params), ctx, b.bottom, b.top);
    GradCheck opt;
    opt.tol = 1e-7;
    check_gradient(*layer, ctx, b.bottom, b.top, opt);
  }
}

// With zero offsets (and mask 1) the layer is an ordinary convolution: the columns equal
// im2col's and the GEMMs are Convolution's, so the forward is bitwise the same.
TEST(DeformConv, ZeroOffsetsReproduceConvolution) {
  for (bool modulated : {false, true}) {
    for (const std::string geom :
         {"num_output: 6 kernel_size: 3 pad: 1 group: 2",
          "num_output: 4 kernel_size: 3 pad: 2 dilation: 2 stride: 2",
          "num_output: 3 kernel_h: 2 kernel_w: 3 stride_h: 1 stride_w: 2 pad_h: 1"}) {
      SCOPED_TRACE(geom + (modulated ? " v2" : " v1"));
      Context ctx = Context::cpu(1);
      Tensor<float> x({2, 4, 7, 8}), xc({2, 4, 7, 8}), y, yc, offset, mask;
      fill_uniform(x, -1, 1, 5);
      xc.copy_from(x);
      auto conv = make_layer<float>(
          "name: 'c' type: 'Convolution' convolution_param { " + geom + kFillers + "}", ctx, {&xc},
          {&yc});
      // Shape the offset from the convolution's output.
      const int64_t oh = yc.shape(2), ow = yc.shape(3);
      const int64_t taps = conv->blobs()[0]->shape(2) * conv->blobs()[0]->shape(3);
      offset.reshape({2, 2 * taps, oh, ow});
      offset.set_data(0.f);
      TensorVec<float> bottom{&x, &offset};
      if (modulated) {
        mask.reshape({2, taps, oh, ow});
        mask.set_data(1.f);
        bottom.push_back(&mask);
      }
      auto dcn = make_layer<float>(dcn_text(geom + (modulated ? " modulated: true" : "")), ctx,
                                   bottom, {&y});
      for (size_t i = 0; i < conv->blobs().size(); ++i)
        dcn->blobs()[i]->copy_from(*conv->blobs()[i]);
      conv->forward(ctx, {&xc}, {&yc});
      dcn->forward(ctx, bottom, {&y});
      ASSERT_EQ(y.shape(), yc.shape());
      EXPECT_EQ(std::memcmp(y.cpu_data(), yc.cpu_data(), y.count() * sizeof(float)), 0);
      // Backward: same parameter and input gradients up to summation order.
      fill_uniform(y, -1, 1, 6);
      std::copy(y.cpu_data(), y.cpu_data() + y.count(), y.mutable_cpu_diff());
      std::copy(y.cpu_data(), y.cpu_data() + y.count(), yc.mutable_cpu_diff());
      for (auto& p : conv->blobs()) p->set_diff(0.f);
      for (auto& p : dcn->blobs()) p->set_diff(0.f);
      conv->backward(ctx, {&yc}, {true}, {&xc});
      dcn->backward(ctx, {&y}, std::vector<bool>(bottom.size(), true), bottom);
      test::expect_near(x.cpu_diff(), xc.cpu_diff(), x.count(), 1e-5, "dx");
      for (size_t i = 0; i < conv->blobs().size(); ++i)
        test::expect_near(dcn->blobs()[i]->cpu_diff(), conv->blobs()[i]->cpu_diff(),
                          conv->blobs()[i]->count(), 1e-5, "param diff");
    }
  }
}

// Every body is GATHER: one and two threads give bitwise the same outputs and gradients.
TEST(DeformConv, ThreadCountDoesNotChangeResults) {
  const std::string text = dcn_text(
      "num_output: 6 kernel_size: 3 pad: 2 dilation: 2 group: 2 deformable_group: 2 "
      "modulated: true");
  auto run = [&](int threads, std::vector<float>* out) {
    Context ctx = Context::cpu(threads);
    Tensor<float> x({2, 8, 16, 16}), offset({2, 36, 16, 16}), mask({2, 18, 16, 16}), y;
    fill_uniform(x, -1, 1, 3);
    fill_uniform(offset, -3, 3, 4);
    fill_uniform(mask, 0, 1, 5);
    TensorVec<float> bottom{&x, &offset, &mask}, top{&y};
    auto layer = make_layer<float>(text, ctx, bottom, top);
    layer->forward(ctx, bottom, top);
    fill_uniform(y, -1, 1, 6);
    std::copy(y.cpu_data(), y.cpu_data() + y.count(), y.mutable_cpu_diff());
    layer->backward(ctx, top, {true, true, true}, bottom);
    out->assign(y.cpu_data(), y.cpu_data() + y.count());
    for (auto* b : bottom) out->insert(out->end(), b->cpu_diff(), b->cpu_diff() + b->count());
    for (auto& p : layer->blobs())
      out->insert(out->end(), p->cpu_diff(), p->cpu_diff() + p->count());
  };
  std::vector<float> one, two;
  run(1, &one);
  run(2, &two);
  Context::cpu(1);
  ASSERT_EQ(one.size(), two.size());
  EXPECT_EQ(std::memcmp(one.data(), two.data(), one.size() * sizeof(float)), 0);
}

// NaN, infinite and huge offsets sample nothing (their taps read as 0) and never index
// outside x (the ASan build checks the reads and writes); gradients stay finite.
TEST(DeformConv, NonFiniteAndHugeOffsetsStayInBounds) {
  const DcnCase c{"num_output: 3 kernel_size: 3 pad: 1 deformable_group: 2 modulated: true",
                  {3, 3, 1, 1, 1, 1, 1, 1, 1, 2},
                  3,
                  {2, 4, 5, 6},
                  true};
  Context ctx = Context::cpu(2);
  DcnBlobs<float> b(c);
  fill_inputs(b, 31);
  const float inf = std::numeric_limits<float>::infinity();
  const float specials[] = {std::numeric_limits<float>::quiet_NaN(),
                            inf,
                            -inf,
                            1e30f,
                            -1e30f,
                            3e9f,
                            -3e9f,
                            5.99999f,
                            -0.99999f,
                            -1.0f,
                            6.0f,
                            5.0f};
  float* off = b.offset.mutable_cpu_data();
  for (int64_t i = 0; i < b.offset.count(); i += 3) off[i] = specials[(i / 3) % 12];
  auto layer = make_layer<float>(dcn_text(c.params), ctx, b.bottom, b.top);
  layer->forward(ctx, b.bottom, b.top);
  int64_t oh, ow;
  const auto want = ref::deform_conv2d(b.x.cpu_data(), 2, 4, 5, 6, b.offset.cpu_data(),
                                       b.mask.cpu_data(), layer->blobs()[0]->cpu_data(),
                                       layer->blobs()[1]->cpu_data(), 3, c.geom, &oh, &ow);
  std::vector<float> want_t(want.begin(), want.end());
  test::expect_near(b.y.cpu_data(), want_t.data(), b.y.count(), 1e-5, "top");
  b.y.set_diff(1.f);
  layer->backward(ctx, b.top, {true, true, true}, b.bottom);
  for (auto* t : b.bottom)
    for (int64_t i = 0; i < t->count(); ++i) ASSERT_TRUE(std::isfinite(t->cpu_diff()[i])) << i;
  // A tap that samples nothing has zero offset and mask gradients.
  const int64_t p = oh * ow;
  for (int64_t i = 0; i < b.offset.count(); i += 3) {
    const float v = off[i];
    if (std::isfinite(v) && std::fabs(v) < 1e9f) continue;
    EXPECT_EQ(b.offset.cpu_diff()[i], 0.f) << i;
    // The partner coordinate of the same tap and pixel.
    const int64_t ch = i / p, q = i % p;
    EXPECT_EQ(b.offset.cpu_diff()[(ch ^ 1) * p + q], 0.f) << i;
    EXPECT_EQ(b.mask.cpu_diff()[(ch / 2) * p + q], 0.f) << i;
  }
}

// Backward adds to parameter diffs, writes bottom diffs, and leaves unrequested ones alone.
TEST(DeformConv, BackwardAccumulatesParamsAndHonoursFlags) {
  const DcnCase c = dcn_cases()[2];
  Context ctx = Context::cpu(1);
  DcnBlobs<double> b(c);
  fill_inputs(b, 41);
  auto layer = make_layer<double>(dcn_text(c.params), ctx, b.bottom, b.top);
  layer->forward(ctx, b.bottom, b.top);
  fill_uniform(b.y, -1, 1, 42);
  std::copy(b.y.cpu_data(), b.y.cpu_data() + b.y.count(), b.y.mutable_cpu_diff());
  for (auto& p : layer->blobs()) p->set_diff(0.0);
  layer->backward(ctx, b.top, {true, true, true}, b.bottom);
  std::vector<std::vector<double>> once, bottoms;
  for (auto& p : layer->blobs()) {
    once.emplace_back(p->cpu_diff(), p->cpu_diff() + p->count());
    for (double& v : once.back()) v *= 2;
  }
  for (auto* t : b.bottom) bottoms.emplace_back(t->cpu_diff(), t->cpu_diff() + t->count());
  layer->backward(ctx, b.top, {true, true, true}, b.bottom);
  for (size_t i = 0; i < once.size(); ++i)
    test::expect_near(layer->blobs()[i]->cpu_diff(), once[i].data(), layer->blobs()[i]->count(),
                      1e-12, "param diff");
  for (size_t i = 0; i < bottoms.size(); ++i)
    test::expect_near(b.bottom[i]->cpu_diff(), bottoms[i].data(), b.bottom[i]->count(), 0,
                      "bottom diff (written, not accumulated)");
  // Only the offset asked for: x, mask and parameter diffs keep their values.
  for (auto* t : b.bottom) t->set_diff(5.0);
  layer->set_param_propagate_down(0, false);
  layer->set_param_propagate_down(1, false);
  for (auto& p : layer->blobs()) p->set_diff(3.0);
  layer->backward(ctx, b.top, {false, true, false}, b.bottom);
  EXPECT_EQ(b.x.cpu_diff()[0], 5.0);
  EXPECT_EQ(b.mask.cpu_diff()[0], 5.0);
  EXPECT_NE(b.offset.cpu_diff()[0], 5.0);
  EXPECT_EQ(layer->blobs()[0]->cpu_diff()[0], 3.0);
  EXPECT_EQ(layer->blobs()[1]->cpu_diff()[0], 3.0);
}

// A batch too large for one column buffer runs in chunks (last chunk first in backward, where
// its columns are reused from the forward pass); each image's results equal a run on that image
// alone.
TEST(DeformConv, ChunkedBatchMatchesSingleImages) {
  const std::string text =
      dcn_text("num_output: 2 kernel_size: 3 pad: 1 deformable_group: 2 modulated: true");
  // 32 * 9 * 172 * 172 column elements per image exceed half the 2^24 budget: one per chunk.
  const std::vector<int64_t> xs{2, 32, 172, 172}, os{2, 36, 172, 172}, ms{2, 18, 172, 172};
  Context ctx = Context::cpu(2);
  Tensor<float> x(xs), offset(os), mask(ms), y;
  fill_uniform(x, -1, 1, 51);
  fill_uniform(offset, -2, 2, 52);
  fill_uniform(mask, 0, 1, 53);
  TensorVec<float> bottom{&x, &offset, &mask}, top{&y};
  auto layer = make_layer<float>(text, ctx, bottom, top);
  layer->forward(ctx, bottom, top);
  Tensor<float> dy(y.shape());
  fill_uniform(dy, -1, 1, 54);
  std::copy(dy.cpu_data(), dy.cpu_data() + dy.count(), y.mutable_cpu_diff());
  for (auto& p : layer->blobs()) p->set_diff(0.f);
  layer->backward(ctx, top, {true, true, true}, bottom);

  std::vector<std::vector<float>> param_sum;
  for (auto& p : layer->blobs()) param_sum.emplace_back(p->count(), 0.f);
  for (int64_t n = 0; n < 2; ++n) {
    SCOPED_TRACE(n);
    auto slice = [n](const Tensor<float>& t, bool diff) {
      std::vector<int64_t> s = t.shape();
      s[0] = 1;
      auto one = std::make_unique<Tensor<float>>(s);
      const int64_t len = one->count();
      const float* src = (diff ? t.cpu_diff() : t.cpu_data()) + n * len;
      std::copy(src, src + len, diff ? one->mutable_cpu_diff() : one->mutable_cpu_data());
      return one;
    };
    auto x1 = slice(x, false), o1 = slice(offset, false), m1 = slice(mask, false);
    Tensor<float> y1;
    TensorVec<float> b1{x1.get(), o1.get(), m1.get()}, t1{&y1};
    auto single = make_layer<float>(text, ctx, b1, t1);
    for (size_t i = 0; i < layer->blobs().size(); ++i) {
      single->blobs()[i]->copy_from(*layer->blobs()[i]);
      single->blobs()[i]->set_diff(0.f);
    }
    single->forward(ctx, b1, t1);
    const int64_t ylen = y1.count();
    EXPECT_EQ(std::memcmp(y1.cpu_data(), y.cpu_data() + n * ylen, ylen * sizeof(float)), 0);
    std::copy(y.cpu_diff() + n * ylen, y.cpu_diff() + (n + 1) * ylen, y1.mutable_cpu_diff());
    single->backward(ctx, t1, {true, true, true}, b1);
    for (int b = 0; b < 3; ++b) {
      const int64_t len = b1[b]->count();
      EXPECT_EQ(
          std::memcmp(b1[b]->cpu_diff(), bottom[b]->cpu_diff() + n * len, len * sizeof(float)), 0)
          << "bottom " << b;
    }
    for (size_t i = 0; i < param_sum.size(); ++i)
      for (int64_t j = 0; j < single->blobs()[i]->count(); ++j)
        param_sum[i][j] += single->blobs()[i]->cpu_diff()[j];
  }
  for (size_t i = 0; i < param_sum.size(); ++i)
    test::expect_near(layer->blobs()[i]->cpu_diff(), param_sum[i].data(),
                      layer->blobs()[i]->count(), 1e-4, "param diff");
}

// torchvision.ops.deform_conv2d results (tests/golden/make_deform_conv.py): output and the
// gradients of x, offset, mask, weight and bias, in double.
TEST(DeformConv, MatchesTorchvisionGolden) {
  struct Golden {
    const char* name;
    std::string params;
    bool modulated, bias;
  };
  const Golden cases[] = {
      {"v1_basic", "num_output: 6 kernel_size: 3 pad: 1", false, true},
      {"v2_group_dg_stride_dil",
       "num_output: 4 kernel_size: 3 stride: 2 pad: 2 dilation: 2 group: 2 deformable_group: 2 "
       "modulated: true",
       true, true},
      {"v1_rect_mixed",
       "num_output: 4 kernel_h: 2 kernel_w: 3 stride_h: 2 stride_w: 1 pad_h: 1 pad_w: 0 "
       "dilation: 1 dilation: 2 group: 2 deformable_group: 3 bias_term: false",
       false, false},
      {"v2_dg_per_channel_far", "num_output: 3 kernel_size: 3 deformable_group: 4 modulated: true",
       true, true},
  };
  const std::string dir = std::string(CREMA_SOURCE_DIR) + "/tests/golden/deform_conv/";
  for (const auto& g : cases) {
    SCOPED_TRACE(g.name);
    auto load = [&](const char* what) { return read_npy(dir + g.name + "_" + what + ".npy"); };
    auto to_tensor = [](const NpyArray& a, Tensor<double>& t) {
      t.reshape(a.shape);
      std::copy(a.data.begin(), a.data.end(), t.mutable_cpu_data());
    };
    Tensor<double> x, offset, mask, y;
    to_tensor(load("x"), x);
    to_tensor(load("offset"), offset);
    TensorVec<double> bottom{&x, &offset}, top{&y};
    if (g.modulated) {
      to_tensor(load("mask"), mask);
      bottom.push_back(&mask);
    }
    Context ctx = Context::cpu(1);
    auto layer = make_layer<double>(dcn_text(g.params), ctx, bottom, top);
    to_tensor(load("weight"), *layer->blobs()[0]);
    if (g.bias) to_tensor(load("bias"), *layer->blobs()[1]);
    layer->forward(ctx, bottom, top);
    const NpyArray want_y = load("y");
    ASSERT_EQ(y.shape(), want_y.shape);
    test::expect_near(y.cpu_data(), want_y.data.data(), y.count(), 1e-12, "y");
    const NpyArray dy = load("dy");
    std::copy(dy.data.begin(), dy.data.end(), y.mutable_cpu_diff());
    for (auto& p : layer->blobs()) p->set_diff(0.0);
    layer->backward(ctx, top, std::vector<bool>(bottom.size(), true), bottom);
    auto expect_grad = [&](const Tensor<double>& t, const char* what) {
      const NpyArray want = load(what);
      ASSERT_EQ(t.count(), static_cast<int64_t>(want.data.size())) << what;
      test::expect_near(t.cpu_diff(), want.data.data(), t.count(), 1e-11, what);
    };
    expect_grad(x, "dx");
    expect_grad(offset, "doffset");
    if (g.modulated) expect_grad(mask, "dmask");
    expect_grad(*layer->blobs()[0], "dweight");
    if (g.bias) expect_grad(*layer->blobs()[1], "dbias");
  }
}

// Setting up `params` on bottoms of the given shapes throws E.
template <class E>
void expect_setup_throws(const std::string& params, const std::vector<std::vector<int64_t>>& s) {
  SCOPED_TRACE(params);
  Context ctx = Context::cpu(1);
  std::vector<std::unique_ptr<Tensor<float>>> own;
  TensorVec<float> bottom;
  for (const auto& shape : s) {
    own.push_back(std::make_unique<Tensor<float>>(shape));
    bottom.push_back(own.back().get());
  }
  Tensor<float> y;
  EXPECT_THROW(make_layer<float>(dcn_text(params), ctx, bottom, {&y}), E);
}

TEST(DeformConv, BadParametersThrowConfigError) {
  const std::vector<std::vector<int64_t>> v1{{1, 4, 6, 6}, {1, 18, 6, 6}};
  const std::vector<std::vector<int64_t>> v2{{1, 4, 6, 6}, {1, 18, 6, 6}, {1, 9, 6, 6}};
  expect_setup_throws<ConfigError>("num_output: 2 kernel_size: 3 pad: 1 group: 3", v1);
  expect_setup_throws<ConfigError>("num_output: 3 kernel_size: 3 pad: 1 group: 2", v1);
  expect_setup_throws<ConfigError>("num_output: 2 kernel_size: 3 pad: 1 deformable_group: 3",
                                   {{1, 4, 6, 6}, {1, 54, 6, 6}});
  expect_setup_throws<ConfigError>("num_output: 2 kernel_size: 3 pad: 1 deformable_group: 0", v1);
  expect_setup_throws<ConfigError>("num_output: 0 kernel_size: 3 pad: 1", v1);
  expect_setup_throws<ConfigError>("num_output: 2 pad: 1", v1);
  expect_setup_throws<ConfigError>("num_output: 2 kernel_size: 3 pad: 1 stride: 0", v1);
  // v2 without its mask bottom, and a mask given to v1.
  expect_setup_throws<ConfigError>("num_output: 2 kernel_size: 3 pad: 1 modulated: true", v1);
  expect_setup_throws<ConfigError>("num_output: 2 kernel_size: 3 pad: 1", v2);
}

TEST(DeformConv, BadShapesThrowShapeError) {
  const std::string p = "num_output: 2 kernel_size: 3 pad: 1 deformable_group: 2";
  // Offset: wrong channel count (DG 1 instead of 2), wrong spatial size, wrong batch, 3-d.
  expect_setup_throws<ShapeError>(p, {{1, 4, 6, 6}, {1, 18, 6, 6}});
  expect_setup_throws<ShapeError>(p, {{1, 4, 6, 6}, {1, 36, 5, 6}});
  expect_setup_throws<ShapeError>(p, {{2, 4, 6, 6}, {1, 36, 6, 6}});
  expect_setup_throws<ShapeError>(p, {{1, 4, 6, 6}, {36, 6, 6}});
  // Mask: wrong channel count and wrong spatial size.
  const std::string m = p + " modulated: true";
  expect_setup_throws<ShapeError>(m, {{1, 4, 6, 6}, {1, 36, 6, 6}, {1, 9, 6, 6}});
  expect_setup_throws<ShapeError>(m, {{1, 4, 6, 6}, {1, 36, 6, 6}, {1, 18, 6, 5}});
  // x not 4-d; input too small for the kernel.
  expect_setup_throws<ShapeError>(p, {{1, 4, 6}, {1, 36, 6, 6}});
  expect_setup_throws<ShapeError>("num_output: 2 kernel_size: 5", {{1, 4, 3, 3}, {1, 50, 1, 1}});
}

// The CUDA launchers run the same bodies as the CPU path. GATHER bodies, but nvcc contracts
// multiply-adds into FMAs where g++ may not, so the comparison allows 1e-5 relative error.
TEST(GpuDeformConv, LaunchersMatchCpu) {
  CREMA_REQUIRE_GPU();
#if CREMA_WITH_CUDA
  Context ctx = Context::cpu(1);
  kernels::DeformConvArgs a{};
  a.channels = 4;
  a.height = 7;
  a.width = 6;
  a.kernel_h = a.kernel_w = 3;
  a.pad_h = a.pad_w = 1;
  a.stride_h = a.stride_w = 1;
  a.dilation_h = a.dilation_w = 1;
  a.out_h = 7;
  a.out_w = 6;
  a.num = 2;
  a.deformable_group = 2;
  a.channel_block = 1;
  a.modulated = true;
  const int64_t taps = 9, p = 42;
  Tensor<float> x({2, 4, 7, 6}), offset({2, 2 * 2 * taps, 7, 6}), mask({2, 2 * taps, 7, 6});
  Tensor<float> dcol({4 * taps, 2 * p});
  fill_uniform(x, -1, 1, 61);
  fill_uniform(offset, -2, 2, 62);
  fill_uniform(mask, 0, 1, 63);
  fill_uniform(dcol, -1, 1, 64);
  const int64_t n_col = kernels::deform_conv_im2col_items(a), n_in = 2 * 4,
                n_off = 2 * 2 * taps * p;
  std::vector<float> col(dcol.count()), dx(x.count()), doff(offset.count()), dmask(mask.count());
  parallel_for(ctx, n_col, [&](int64_t i) {
    kernels::deform_conv_im2col(i, a, x.cpu_data(), offset.cpu_data(), mask.cpu_data(), col.data());
  });
  parallel_for(ctx, n_in, [&](int64_t i) {
    kernels::deform_conv_input_backward(i, a, offset.cpu_data(), mask.cpu_data(), dcol.cpu_data(),
                                        dx.data());
  });
  parallel_for(ctx, n_off, [&](int64_t i) {
    kernels::deform_conv_offset_backward(i, a, x.cpu_data(), offset.cpu_data(), mask.cpu_data(),
                                         dcol.cpu_data(), doff.data(), dmask.data());
  });
  auto host = [](const Tensor<float>& t) {
    return std::vector<float>(t.cpu_data(), t.cpu_data() + t.count());
  };
  testing::DeviceBuffer<float> gx(host(x)), goff(host(offset)), gmask(host(mask)),
      gdcol(host(dcol)), gcol(col.size()), gdx(dx.size()), gdoff(doff.size()), gdmask(dmask.size());
  cuda::launch_deform_conv_im2col<float>(nullptr, n_col, a, gx.get(), goff.get(), gmask.get(),
                                         gcol.get());
  cuda::launch_deform_conv_input_backward<float>(nullptr, n_in, a, goff.get(), gmask.get(),
                                                 gdcol.get(), gdx.get());
  cuda::launch_deform_conv_offset_backward<float>(
      nullptr, n_off, a, gx.get(), goff.get(), gmask.get(), gdcol.get(), gdoff.get(), gdmask.get());
  test::expect_near(gcol.to_host().data(), col.data(), col.size(), 1e-5, "col");
  test::expect_near(gdx.to_host().data(), dx.data(), dx.size(), 1e-5, "dx");
  test::expect_near(gdoff.to_host().data(), doff.data(), doff.size(), 1e-5, "doffset");
  test::expect_near(gdmask.to_host().data(), dmask.data(), dmask.size(), 1e-5, "dmask");
#endif
}

// The layer's GPU path (deformable im2col, cuBLAS GEMMs, input and offset/mask adjoints) against
// its CPU path on every case (groups, deformable groups, v1 and v2, no bias), all bottoms and only
// the input propagated. cuBLAS and OpenBLAS sum in different orders and nvcc fuses the bilinear
// multiply-adds: 1e-5 relative. Then a batch that the layer splits into one-image chunks, in
// double (its weight gradient sums ~60k products per value, too many for a float tolerance).
TEST(GpuDeformConv, LayerMatchesCpu) {
  CREMA_REQUIRE_GPU();
  for (const DcnCase& c : dcn_cases()) {
    SCOPED_TRACE(c.params);
    DcnBlobs<float> b(c);
    fill_inputs(b, 61);
    const std::vector<const Tensor<float>*> inputs(b.bottom.begin(), b.bottom.end());
    std::vector<bool> all(inputs.size(), true), x_only(inputs.size(), false);
    x_only[0] = true;
    for (const auto& down : {all, x_only})
      test::expect_gpu_matches_cpu_multi<float>(dcn_text(c.params), inputs, down,
                                                test::kGpuMathTol);
  }
  const std::string text =
      dcn_text("num_output: 2 kernel_size: 3 pad: 1 deformable_group: 2 modulated: true");
  Tensor<double> x({2, 32, 172, 172}), offset({2, 36, 172, 172}), mask({2, 18, 172, 172});
  fill_uniform(x, -1, 1, 62);
  fill_uniform(offset, -2, 2, 63);
  fill_uniform(mask, 0, 1, 64);
  test::expect_gpu_matches_cpu_multi<double>(text, {&x, &offset, &mask}, {true, true, true},
                                             test::kGpuMathTol);
}

}  // namespace
}  // namespace crema
