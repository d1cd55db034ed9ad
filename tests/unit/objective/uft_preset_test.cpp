// The uft preset on a hand-made batch: the hint row (a demonstration) is trained by beta_h token-mean
// NLL over the hint tokens only, the generated suffixes by the GRPO clip over the rollout tokens only,
// and the k3 KL reads the rollouts (zero gradient where logp = ref_logp). And terms restricted to
// one part normalise by that part's global counts, so micro-batches sum to the whole mini-batch.
#include <gtest/gtest.h>

#include "objective/objective.h"
#include "objective/presets.h"

namespace tandem::objective {
namespace {

// Rollouts: 2 tokens with A = +1 and 3 tokens with A = -0.5, ratio 1 (logp = old_logp) and
// logp = ref_logp; hint row: 4 tokens. beta_h = 0.001 (sft_loss_coef).
//   hint tokens:    dL/dl = -0.001 / 4
//   rollout tokens: dL/dl = -A / 5   (token-mean over the 5 rollout tokens; unclipped at ratio 1)
TEST(UftPreset, HintTokensNllSuffixTokensGrpo) {
  const ObjectiveConfig c = find_preset("uft");
  std::vector<int64_t> off = {0, 2, 5, 9};
  std::vector<float> mask(9, 1.f), logp = {-1, -2, -0.5f, -1, -3, -2, -2, -1, -0.1f};
  std::vector<float> A = {1, 1, -0.5f, -0.5f, -0.5f, 0, 0, 0, 0}, d(9);
  std::vector<uint8_t> demo = {0, 0, 1};
  Batch b;
  b.offsets = off;
  b.mask = mask;
  b.logp = logp;
  b.old_logp = logp;
  b.ref_logp = logp;
  b.advantages = A;
  b.is_demo = demo;
  const Result r = compute(c, b, Grads{d, {}, {}});
  for (int t = 0; t < 2; ++t) EXPECT_NEAR(d[t], -1.0 / 5, 1e-7) << t;
  for (int t = 2; t < 5; ++t) EXPECT_NEAR(d[t], 0.5 / 5, 1e-7) << t;
  for (int t = 5; t < 9; ++t) EXPECT_NEAR(d[t], -0.001 / 4, 1e-9) << t;
  // NLL of the hint = mean(-logp) over its tokens = (2 + 2 + 1 + 0.1) / 4.
  EXPECT_NEAR(r.stats.at("loss/sft"), 5.1 / 4, 1e-6);
}

TEST(UftPreset, PartNormalisersSpanMicroBatches) {
  const ObjectiveConfig c = find_preset("uft");
  std::vector<int64_t> off = {0, 2, 5, 9, 10};
  std::vector<float> mask(10, 1.f), logp = {-1, -2, -0.5f, -1, -3, -2, -2, -1, -0.1f, -0.7f};
  std::vector<float> old = {-1.1f, -2, -0.4f, -1, -3.2f, -2, -2, -1, -0.1f, -0.6f};
  std::vector<float> A = {1, 1, -0.5f, -0.5f, -0.5f, 0, 0, 0, 0, 0.3f};
  std::vector<uint8_t> demo = {0, 0, 1, 0};
  auto run = [&](size_t s0, size_t s1, bool global) {
    std::vector<int64_t> o;
    for (size_t s = s0; s <= s1; ++s) o.push_back(off[s] - off[s0]);
    const size_t t0 = size_t(off[s0]), t1 = size_t(off[s1]);
    std::vector<float> d(t1 - t0);
    Batch b;
    b.offsets = o;
    b.mask = std::span(mask).subspan(t0, t1 - t0);
    b.logp = std::span(logp).subspan(t0, t1 - t0);
    b.old_logp = std::span(old).subspan(t0, t1 - t0);
    b.ref_logp = std::span(logp).subspan(t0, t1 - t0);
    b.advantages = std::span(A).subspan(t0, t1 - t0);
    b.is_demo = std::span(demo).subspan(s0, s1 - s0);
    if (global) {
      b.global_tokens = 10, b.global_seqs = 4;
      b.global_rollout_tokens = 6, b.global_rollout_seqs = 3;
      b.global_demo_tokens = 4, b.global_demo_seqs = 1;
    }
    compute(c, b, Grads{d, {}, {}});
    return d;
  };
  const auto whole = run(0, 4, false);
  auto first = run(0, 2, true), second = run(2, 4, true);
  first.insert(first.end(), second.begin(), second.end());
  ASSERT_EQ(first.size(), whole.size());
  for (size_t t = 0; t < whole.size(); ++t) EXPECT_NEAR(first[t], whole[t], 1e-8) << t;
  // Without the part counts the second micro-batch would normalise its one rollout by its own token.
  const auto alone = run(2, 4, false);
  EXPECT_GT(std::fabs(alone.back() - whole.back()), 1e-3);
}

}  // namespace
}  // namespace tandem::objective
