// Known answer: Caffe's trained LeNet (.caffemodel) scores 99.04% on MNIST t10k in Crema.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "core/net.h"
#include "tests/data_test_util.h"

namespace crema {
namespace {

TEST(LeNetCaffe, TrainedWeightsScore99OnMnistTest) {
  const std::string data = test::shared_data_dir();
  const std::string images = test::gunzip_file(data + "/mnist/t10k-images-idx3-ubyte.gz");
  const std::string labels = test::gunzip_file(data + "/mnist/t10k-labels-idx1-ubyte.gz");
  ASSERT_EQ(images.size(), 16u + 10000u * 784u);
  ASSERT_EQ(labels.size(), 8u + 10000u);
  Context ctx = Context::cpu(0);
  Net<float> net(data + "/lenet_caffe/mnist_deploy.prototxt", ctx, TEST);
  const WeightsReport r =
      net.copy_trained_layers_from(data + "/lenet_caffe/lenet_iter_10000.caffemodel");
  EXPECT_EQ(r.copied.size(), 4u) << r.summary();
  EXPECT_TRUE(r.missing.empty()) << r.summary();
  const int batch = 500;
  auto input = net.blob_by_name("data");
  input->reshape({batch, 1, 28, 28});
  net.reshape();
  const auto& out = *net.blobs()[net.output_blob_indices().at(0)];
  int correct = 0;
  for (int b = 0; b < 10000 / batch; ++b) {
    float* x = input->mutable_cpu_data();
    for (int i = 0; i < batch * 784; ++i)
      x[i] = static_cast<unsigned char>(images[16 + b * batch * 784 + i]) * 0.00390625f;
    net.forward();
    ASSERT_EQ(out.count(), batch * 10);
    for (int n = 0; n < batch; ++n) {
      int best = 0;
      for (int c = 1; c < 10; ++c)
        if (out.cpu_data()[n * 10 + c] > out.cpu_data()[n * 10 + best]) best = c;
      correct += best == static_cast<unsigned char>(labels[8 + b * batch + n]);
    }
  }
  const double accuracy = correct / 10000.0;
  std::printf("LeNet caffemodel on MNIST t10k: %.2f%%\n", 100 * accuracy);
  EXPECT_GE(accuracy, 0.990);
  EXPECT_NEAR(accuracy, 0.9904, 0.0005);  // the reference numpy forward pass
}

}  // namespace
}  // namespace crema
