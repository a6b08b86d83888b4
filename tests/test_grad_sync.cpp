// Gradient buckets: the plan (order, size bound), readiness during backward, and averaging
// through a group of one process (the multi-rank path is tested under mpirun, label mpi).
#include <gtest/gtest.h>

#include "core/comm.h"
#include "core/grad_sync.h"
#include "tests/test_util.h"

namespace crema {
namespace {

TEST(BucketPlan, TakesParametersInBackwardOrderAndBoundsBytes) {
  // Four params; layers 0..2; param 3 is frozen. Backward finishes layer 2 first.
  const std::vector<int64_t> counts = {100, 10, 300, 50};
  const std::vector<int> ready = {0, 0, 2, 1};
  const std::vector<bool> reduce = {true, true, true, false};
  const BucketPlan plan = plan_buckets(counts, ready, reduce, 4, 1600);
  // Order: param 2 (layer 2, 1200 B), then 1 and 0 (layer 0, descending index): 2 fills 1200 of
  // 1600 bytes; 1 (40 B) fits; 0 (400 B) would pass 1600, so it starts bucket 2.
  ASSERT_EQ(plan.buckets.size(), 2u);
  EXPECT_EQ(plan.buckets[0].params, (std::vector<int>{2, 1}));
  EXPECT_EQ(plan.buckets[0].count, 310);
  EXPECT_EQ(plan.buckets[1].params, (std::vector<int>{0}));
  EXPECT_EQ(plan.bucket_of, (std::vector<int>{1, 0, 0, -1}));
}

TEST(BucketPlan, ParameterLargerThanABucketGetsItsOwn) {
  const BucketPlan plan = plan_buckets({10, 1000, 10}, {2, 1, 0}, {true, true, true}, 4, 100);
  ASSERT_EQ(plan.buckets.size(), 3u);
  EXPECT_EQ(plan.buckets[1].params, (std::vector<int>{1}));
  EXPECT_EQ(plan.buckets[1].count, 1000);
}

TEST(BucketReadiness, BucketCompletesWhenItsLastLayerIsDone) {
  const std::vector<int> ready = {0, 0, 2, 1};
  const BucketPlan plan = plan_buckets({100, 10, 300, 50}, ready, {true, true, true, true}, 4, 1300);
  // Buckets: {2} (1200 B; adding 3's 200 B passes 1300), then {3, 1, 0} (200 + 40 + 400 B).
  ASSERT_EQ(plan.buckets.size(), 2u);
  BucketReadiness r(plan, ready);
  EXPECT_EQ(r.layer_done(2), (std::vector<int>{0}));
  EXPECT_TRUE(r.layer_done(1).empty());  // param 3 is final, 1 and 0 are not
  EXPECT_FALSE(r.all_complete());
  EXPECT_EQ(r.layer_done(0), (std::vector<int>{1}));
  EXPECT_TRUE(r.all_complete());
  r.reset();
  EXPECT_FALSE(r.all_complete());
}

TEST(GradientSync, OneRankKeepsGradientsAndCoversEveryBucket) {
  Context ctx = Context::cpu(1);
  NetParameter np;
  parse_text_proto(R"(
    layer { name: "in" type: "Input" top: "x" input_param { shape { dim: 2 dim: 3 } } }
    layer { name: "a" type: "InnerProduct" bottom: "x" top: "a" inner_product_param { num_output: 4 } }
    layer { name: "b" type: "InnerProduct" bottom: "a" top: "b" param { lr_mult: 0 }
            param { lr_mult: 0 } inner_product_param { num_output: 2 } }
    layer { name: "c" type: "InnerProduct" bottom: "b" top: "c" inner_product_param { num_output: 1 } }
    layer { name: "loss" type: "EuclideanLoss" bottom: "c" bottom: "c" top: "loss" }
  )", "net", &np);
  NetState st;
  st.set_phase(TRAIN);
  Net<double> net(np, ctx, st);
  Communicator one;
  GradientSync<double> sync(net, one, 40);  // 40 bytes: 5 doubles a bucket
  // c's params (1x2 weight, bias 1) come first; b is frozen; a's bias (4) then weight (12).
  ASSERT_EQ(sync.plan().buckets.size(), 3u);
  EXPECT_EQ(sync.plan().buckets[0].params, (std::vector<int>{5, 4}));
  EXPECT_EQ(sync.plan().bucket_of[2], -1);
  EXPECT_EQ(sync.plan().bucket_of[3], -1);
  test::fill_uniform(*net.blob_by_name("x"), -1, 1, 3);
  net.forward();
  sync.begin_backward();
  for (Tensor<double>* p : net.learnable_params()) p->set_diff(0.5);
  net.backward();
  std::vector<double> before;
  for (Tensor<double>* p : net.learnable_params())
    before.insert(before.end(), p->cpu_diff(), p->cpu_diff() + p->count());
  sync.finish();
  std::vector<double> after;
  for (Tensor<double>* p : net.learnable_params())
    after.insert(after.end(), p->cpu_diff(), p->cpu_diff() + p->count());
  EXPECT_EQ(before, after);  // the mean over one rank is the gradient itself
  EXPECT_EQ(sync.stats().steps, 1);
  EXPECT_NE(sync.report().find("overlapped backward"), std::string::npos);
}

TEST(GradientSync, SharedParameterIsReadyAfterItsFirstLayer) {
  Context ctx = Context::cpu(1);
  NetParameter np;
  parse_text_proto(R"(
    layer { name: "in" type: "Input" top: "x" input_param { shape { dim: 2 dim: 3 } } }
    layer { name: "a" type: "InnerProduct" bottom: "x" top: "a" param { name: "w" }
            inner_product_param { num_output: 3 bias_term: false } }
    layer { name: "b" type: "InnerProduct" bottom: "a" top: "b"
            inner_product_param { num_output: 3 bias_term: false } }
    layer { name: "c" type: "InnerProduct" bottom: "b" top: "c" param { name: "w" }
            inner_product_param { num_output: 3 bias_term: false } }
    layer { name: "loss" type: "EuclideanLoss" bottom: "c" bottom: "c" top: "loss" }
  )", "net", &np);
  NetState st;
  st.set_phase(TRAIN);
  Net<double> net(np, ctx, st);
  // Learnable: w (owned by a, also used by c), b's weight. Backward finishes w only at layer a.
  EXPECT_EQ(net.learnable_param_ready_layers(), (std::vector<int>{1, 2}));
  EXPECT_EQ(net.learnable_param_names(), (std::vector<std::string>{"w", "b.0"}));
}

TEST(Communicator, GroupOfOneIsAnIdentity) {
  Communicator one;
  EXPECT_EQ(one.world(), 1);
  EXPECT_EQ(one.rank(), 0);
  EXPECT_FALSE(one.multi());
  double v[3] = {1, 2, 3};
  one.allreduce_sum(v, 3, "test");
  EXPECT_EQ(v[2], 3);
  EXPECT_EQ(one.allgather({7.5, -1}, "test"), (std::vector<double>{7.5, -1}));
  bool before = false, after = false;
  one.wait(one.post_allreduce_sum(v, 3, CommType::kDouble, "t", [&] { before = true; },
                                  [&] { after = before; }));
  EXPECT_TRUE(after);
}

TEST(Communicator, LauncherWorldSizeReadsTheEnvironment) {
  unsetenv("OMPI_COMM_WORLD_SIZE");
  unsetenv("PMIX_SIZE");
  unsetenv("PMI_SIZE");
  unsetenv("SLURM_STEP_NUM_TASKS");
  EXPECT_EQ(launcher_world_size(), 1);
  setenv("SLURM_STEP_NUM_TASKS", "4", 1);
  EXPECT_EQ(launcher_world_size(), 4);
  setenv("SLURM_STEP_NUM_TASKS", "junk", 1);
  EXPECT_EQ(launcher_world_size(), 1);
  unsetenv("SLURM_STEP_NUM_TASKS");
}

}  // namespace
}  // namespace crema
