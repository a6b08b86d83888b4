// TEST-phase nets reuse activation buffers whose lifetimes do not overlap; results are unchanged.
#include <gtest/gtest.h>

#include "core/net.h"
#include "tests/test_util.h"

namespace crema {
namespace {

TEST(MemoryReuse, VdsrTestNetNeedsFarLessAndComputesTheSame) {
  const std::string model = test::shared_data_dir() + "/vdsr_caffe/VDSR_net_deploy.prototxt";
  Context ctx = Context::cpu(0);
  auto run = [&](bool reuse, size_t* bytes, size_t* without) {
    Net<float> net(model, ctx, TEST);
    EXPECT_TRUE(net.memory_reuse());  // on by default in TEST nets
    net.copy_trained_layers_from(test::shared_data_dir() + "/vdsr_caffe/VDSR_Adam.caffemodel");
    net.blob_by_name("data")->reshape({1, 1, 48, 48});
    net.reshape();
    if (!reuse) net.set_memory_reuse(false);
    test::fill_uniform(*net.blob_by_name("data"), 0, 1, 3);
    net.forward();
    *bytes = net.activation_bytes();
    *without = net.activation_bytes_without_reuse();
    const auto& out = *net.blobs()[net.output_blob_indices().at(0)];
    return std::vector<float>(out.cpu_data(), out.cpu_data() + out.count());
  };
  size_t reused = 0, plain = 0, w1 = 0, w2 = 0;
  const auto a = run(true, &reused, &w1);
  const auto b = run(false, &plain, &w2);
  ASSERT_EQ(a, b);  // bit-identical output
  EXPECT_EQ(w1, w2);
  std::printf("VDSR (20 conv layers) TEST net, 48x48 input: activations %.2f MB with reuse, "
              "%.2f MB without (%.1fx less)\n",
              reused / 1048576.0, plain / 1048576.0, static_cast<double>(plain) / reused);
  // Without reuse each blob has its buffer (aliased ones may keep a larger, earlier capacity).
  EXPECT_LE(w1, plain);
  EXPECT_LT(plain, w1 + w1 / 10);
  EXPECT_LT(reused * 5, plain);  // 20 layers fit in a handful of buffers
}

TEST(MemoryReuse, TrainNetsAndForcedBackwardKeepEveryBlob) {
  Context ctx = Context::cpu(1);
  NetParameter p;
  parse_text_proto(R"(force_backward: true
layer { name: "in" type: "Input" top: "x" input_param { shape { dim: 2 dim: 3 } } }
layer { name: "a" type: "ReLU" bottom: "x" top: "y" }
layer { name: "b" type: "ReLU" bottom: "y" top: "z" }
layer { name: "c" type: "ReLU" bottom: "z" top: "w" }
layer { name: "d" type: "ReLU" bottom: "w" top: "v" })", "net", &p);
  NetState st;
  st.set_phase(TEST);
  Net<float> forced(p, ctx, st);
  EXPECT_FALSE(forced.memory_reuse());
  p.set_force_backward(false);
  Net<float> reused(p, ctx, st);
  EXPECT_TRUE(reused.memory_reuse());
  // y (born 1, last read by 2) shares with w (born 3). Never a layer's bottom and top; the
  // input x keeps its own buffer.
  for (int l = 1; l < 5; ++l)
    EXPECT_NE(reused.bottom_vecs()[l][0]->data_memory(), reused.top_vecs()[l][0]->data_memory());
  EXPECT_EQ(reused.blob_by_name("y")->data_memory(), reused.blob_by_name("w")->data_memory());
  EXPECT_NE(reused.blob_by_name("x")->data_memory(), reused.blob_by_name("z")->data_memory());
  st.set_phase(TRAIN);
  Net<float> train(p, ctx, st);
  EXPECT_FALSE(train.memory_reuse());
}

}  // namespace
}  // namespace crema

namespace crema {
namespace {

TEST(MemoryReuse, InputsSurviveReshapeAndReplanning) {
  Context ctx = Context::cpu(1);
  NetParameter p;
  parse_text_proto(R"(
layer { name: "in" type: "Input" top: "x" input_param { shape { dim: 1 dim: 4 } } }
layer { name: "a" type: "ReLU" bottom: "x" top: "y" }
layer { name: "b" type: "ReLU" bottom: "y" top: "z" })", "net", &p);
  NetState st;
  st.set_phase(TEST);
  Net<float> net(p, ctx, st);
  auto x = net.blob_by_name("x");
  x->reshape({2, 4});
  for (int i = 0; i < 8; ++i) x->mutable_cpu_data()[i] = static_cast<float>(i);
  net.reshape();  // plans buffers again; the input written before must stay
  net.forward();
  for (int i = 0; i < 8; ++i) EXPECT_EQ(net.blob_by_name("z")->cpu_data()[i], static_cast<float>(i));
}

}  // namespace
}  // namespace crema
