// pass@k against values computed by hand from 1 - C(n-c,k)/C(n,k), the mean over groups (only groups
// with at least k samples), and the metric names rollout_metrics logs for a rollout batch.
#include <gtest/gtest.h>

#include "train/online_step.h"
#include "train/pass_at_k.h"

namespace tandem::train {
namespace {

TEST(PassAtK, HandComputedValues) {
  EXPECT_DOUBLE_EQ(pass_at_k(4, 1, 1), 1.0 - 3.0 / 4.0);     // C(3,1)/C(4,1)
  EXPECT_DOUBLE_EQ(pass_at_k(4, 1, 2), 1.0 - 3.0 / 6.0);     // C(3,2)/C(4,2)
  EXPECT_DOUBLE_EQ(pass_at_k(4, 2, 2), 1.0 - 1.0 / 6.0);     // C(2,2)/C(4,2)
  EXPECT_DOUBLE_EQ(pass_at_k(8, 3, 4), 1.0 - 5.0 / 70.0);    // C(5,4)/C(8,4)
  EXPECT_NEAR(pass_at_k(10, 2, 3), 1.0 - 56.0 / 120.0, 1e-15);  // C(8,3)/C(10,3)
  EXPECT_NEAR(pass_at_k(16, 5, 8), 1.0 - 165.0 / 12870.0, 1e-15);  // C(11,8)/C(16,8)
  EXPECT_EQ(pass_at_k(4, 0, 1), 0.0);
  EXPECT_EQ(pass_at_k(4, 0, 4), 0.0);
  EXPECT_EQ(pass_at_k(4, 3, 2), 1.0);  // n - c < k: every draw of 2 holds a correct one
  EXPECT_EQ(pass_at_k(4, 4, 1), 1.0);
  EXPECT_DOUBLE_EQ(pass_at_k(8, 3, 8), 1.0);
  // pass@1 is the fraction correct.
  for (int c = 0; c <= 7; ++c) EXPECT_NEAR(pass_at_k(7, c, 1), c / 7.0, 1e-15) << c;
}

TEST(PassAtK, MeanOverGroupsWithEnoughSamples) {
  const std::vector<std::pair<int64_t, int64_t>> groups = {{4, 1}, {4, 0}, {2, 2}};
  auto [v2, n2] = mean_pass_at_k(groups, 2);
  EXPECT_DOUBLE_EQ(v2, (0.5 + 0.0 + 1.0) / 3.0);
  EXPECT_EQ(n2, 3);
  auto [v4, n4] = mean_pass_at_k(groups, 4);  // the group of 2 has no pass@4
  EXPECT_DOUBLE_EQ(v4, (1.0 + 0.0) / 2.0);
  EXPECT_EQ(n4, 2);
  EXPECT_EQ(mean_pass_at_k(groups, 5).second, 0);
}

TEST(PassAtK, RolloutMetricsLogEachK) {
  // Two groups of 4 samples (1 and 0 correct) and a demonstration that pass@k must not count.
  std::vector<RolloutSeq> seqs;
  const double rewards[2][4] = {{1, 0, 0, 0}, {0, 0.2, 0, 0}};
  for (int g = 0; g < 2; ++g)
    for (int i = 0; i < 4; ++i) {
      RolloutSeq s;
      s.group = g;
      s.completion = {1, 2};
      s.reward = rewards[g][i];
      seqs.push_back(s);
    }
  RolloutSeq demo;
  demo.group = 1;
  demo.demo = true;
  demo.reward = 1;
  demo.completion = {3};
  seqs.push_back(demo);
  const RewardSet none({}, {}, [](std::span<const int32_t>) { return std::string(); });
  Json m = Json::object();
  rollout_metrics(seqs, none, 0.5, {1, 2, 4, 8}, m, "eval_");
  EXPECT_DOUBLE_EQ(m["eval_pass@1"].get<double>(), (0.25 + 0.0) / 2);
  EXPECT_DOUBLE_EQ(m["eval_pass@2"].get<double>(), (0.5 + 0.0) / 2);
  EXPECT_DOUBLE_EQ(m["eval_pass@4"].get<double>(), (1.0 + 0.0) / 2);
  EXPECT_FALSE(m.contains("eval_pass@8")) << "no group has 8 samples";
  EXPECT_DOUBLE_EQ(m["eval_accuracy"].get<double>(), 1.0 / 8.0);
}

}  // namespace
}  // namespace tandem::train
