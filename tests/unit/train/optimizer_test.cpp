// AdamW, SGD and global-norm clipping against torch.optim / clip_grad_norm_ on the same data,
// and the LR schedules against transformers' formulas written out by hand.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>

#include "core/json.h"
#include "testing/testing.h"
#include "train/grad_clip.h"
#include "train/optimizer.h"
#include "train/schedule.h"

namespace tandem::train {
namespace {


TEST(Optimizer, AdamWSgdAndClipMatchTorch) {
  const int64_t n = 203, steps = 4;
  const auto p0 = testing::randn(n, 1);
  std::vector<std::vector<float>> grads;
  for (int s = 0; s < steps; ++s) grads.push_back(testing::randn(n, 10 + s, 0.1f * float(s + 1)));
  DecayRanges decay{{{0, 50}, {120, 203}}};
  std::vector<int> mask(n, 0);
  for (auto [b, e] : decay.ranges)
    for (int64_t i = b; i < e; ++i) mask[i] = 1;
  const std::vector<double> lrs = {1e-3, 2e-3, 1.5e-3, 1e-4};
  AdamWConfig cfg{.lr = 0, .beta1 = 0.9, .beta2 = 0.95, .eps = 1e-8, .weight_decay = 0.1};
  testing::TempDir dir("optim");
  Json job = {{"params", p0}, {"grads", grads}, {"decay", mask}, {"lr", lrs},
              {"adamw", {{"beta1", cfg.beta1}, {"beta2", cfg.beta2}, {"eps", cfg.eps}, {"weight_decay", cfg.weight_decay}}},
              {"sgd_weight_decay", 0.01}, {"max_norm", 0.05}};
  std::ofstream(dir.file("job.json")) << job.dump();
  std::string out;
  ASSERT_EQ(testing::run_command(cat(testing::debian_python(), " ", testing::source_dir(), "/tests/reference/optim_ref.py ",
                                     dir.file("job.json"), " ", dir.file("out.json")), &out), 0) << out;
  const Json ref = read_json_file(dir.file("out.json"), "test");

  Tensor p = testing::f32_tensor(p0);
  AdamW adam(n);
  for (int s = 0; s < steps; ++s) adam.step(p, testing::f32_tensor(grads[s]), decay, cfg, lrs[s]);
  EXPECT_TRUE(testing::all_close(testing::to_vec(p), ref["adamw"].get<std::vector<double>>(), {1e-7, 1e-6}, "adamw"));
  EXPECT_EQ(adam.steps(), steps);

  Tensor q = testing::f32_tensor(p0);
  for (int s = 0; s < steps; ++s) sgd_step(q, testing::f32_tensor(grads[s]), decay, 0.01, lrs[s]);
  EXPECT_TRUE(testing::all_close(testing::to_vec(q), ref["sgd"].get<std::vector<double>>(), {1e-7, 1e-6}, "sgd"));

  Tensor g = testing::f32_tensor(grads[0]);
  const double norm = clip_grad_norm(g, 0.05);
  EXPECT_NEAR(norm, ref["norm"].get<double>(), 1e-6 * norm);
  EXPECT_TRUE(testing::all_close(testing::to_vec(g), ref["clipped"].get<std::vector<double>>(), {1e-8, 1e-6}, "clipped"));
  Tensor g2 = testing::f32_tensor(grads[0]);
  clip_grad_norm(g2, 0.0);  // disabled: untouched
  EXPECT_EQ(testing::to_vec(g2), grads[0]);
}

TEST(Schedule, TransformersFormulas) {
  ScheduleConfig c{.type = ScheduleType::kLinear, .peak_lr = 1.0, .warmup_steps = 4, .total_steps = 14};
  EXPECT_DOUBLE_EQ(lr_at(c, 0), 0.0);
  EXPECT_DOUBLE_EQ(lr_at(c, 2), 0.5);
  EXPECT_DOUBLE_EQ(lr_at(c, 4), 1.0);
  EXPECT_DOUBLE_EQ(lr_at(c, 9), 0.5);
  EXPECT_DOUBLE_EQ(lr_at(c, 14), 0.0);
  c.type = ScheduleType::kCosine;
  EXPECT_DOUBLE_EQ(lr_at(c, 9), 0.5 * (1 + std::cos(M_PI * 0.5)));
  EXPECT_NEAR(lr_at(c, 14), 0.0, 1e-15);
  c.min_lr_ratio = 0.1;
  EXPECT_NEAR(lr_at(c, 14), 0.1, 1e-15);
  EXPECT_NEAR(lr_at(c, 9), 0.1 + 0.9 * 0.5, 1e-15);
  c.type = ScheduleType::kConstant;
  EXPECT_DOUBLE_EQ(lr_at(c, 1), 0.25);
  EXPECT_DOUBLE_EQ(lr_at(c, 100), 1.0);
  EXPECT_THROW(parse_schedule_type("cosine_restarts", "lr_scheduler_type"), Error);
}

}  // namespace
}  // namespace tandem::train
