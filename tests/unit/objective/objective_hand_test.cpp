// Hand-computed cases (the arithmetic is written out in each comment), config parsing and its errors,
// preset defaults pinned to the numbers algorithms.md names, and batch validation.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "objective/advantage.h"
#include "objective/objective.h"
#include "objective/presets.h"

namespace tandem::objective {
namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// DPO, beta = 1: three pairs of one-token sequences with h = 0, 1, 2 (ref log-probs 0).
//   loss = mean(-log σ(z)) = (log 2 + log(1 + e^-1) + log(1 + e^-2)) / 3
//        = (0.6931472 + 0.3132617 + 0.1269280) / 3 = 0.3777789
//   dloss/dlogp_chosen = -σ(-z)/3 = -(0.5, 0.2689414, 0.1192029)/3
TEST(ObjectiveHand, DpoZeroOneTwo) {
  std::vector<int64_t> off = {0, 1, 2, 3, 4, 5, 6};
  std::vector<float> mask(6, 1.f), logp = {-1.f, -1.f, -1.f, -2.f, -1.f, -3.f}, ref(6, 0.f), d(6);
  ObjectiveConfig c = find_preset("dpo");
  c.beta = 1.0;
  Batch b;
  b.offsets = off;
  b.mask = mask;
  b.logp = logp;
  b.ref_logp = ref;
  Result r = compute(c, b, Grads{d, {}, {}});
  EXPECT_NEAR(r.loss, 0.3777789, 1e-7);
  EXPECT_NEAR(d[0], -0.5 / 3, 1e-7);
  EXPECT_NEAR(d[2], -0.2689414 / 3, 1e-7);
  EXPECT_NEAR(d[5], 0.1192029 / 3, 1e-7);
  EXPECT_NEAR(r.stats["rewards/margins"], 1.0, 1e-12);
  EXPECT_NEAR(r.stats["rewards/accuracies"], 2.0 / 3.0, 1e-12);  // h = 0 is not "chosen > rejected"
}

// PPO clip, token-sum, eps 0.2, C = 3, one token per case:
//   A = +1, ρ = 1.5: ψ = max(-1.5, -1.2) = -1.2 (clipped) → grad 0
//   A = -1, ρ = 2:   ψ = max(2, 1.2) = 2, min(2, 3) = 2  → dψ/dℓ = -Aρ = 2
//   A = -1, ρ = 4:   ψ = max(4, 1.2) = 4, min(4, 3) = 3  → dual clip, grad 0
//   A = +1, ρ = 0.5: ψ = max(-0.5, -0.8) = -0.5          → dψ/dℓ = -Aρ = -0.5
TEST(ObjectiveHand, PpoClipBranches) {
  std::vector<int64_t> off = {0, 1, 2, 3, 4};
  std::vector<float> mask(4, 1.f), logp(4, -1.f), old(4), A = {1.f, -1.f, -1.f, 1.f}, d(4);
  const double rho[] = {1.5, 2.0, 4.0, 0.5};
  for (int i = 0; i < 4; ++i) old[i] = float(-1.0 - std::log(rho[i]));
  ObjectiveConfig c = find_preset("grpo");
  c.terms = {c.terms[0]};
  c.agg = AggMode::kTokenSum;
  Batch b;
  b.offsets = off;
  b.mask = mask;
  b.logp = logp;
  b.old_logp = old;
  b.advantages = A;
  Result r = compute(c, b, Grads{d, {}, {}});
  EXPECT_NEAR(r.loss, -1.2 + 2 + 3 - 0.5, 1e-6);
  EXPECT_NEAR(d[0], 0.0, 1e-7);
  EXPECT_NEAR(d[1], 2.0, 1e-6);
  EXPECT_NEAR(d[2], 0.0, 1e-7);
  EXPECT_NEAR(d[3], -0.5, 1e-6);
  EXPECT_NEAR(r.stats["clip_frac"], 0.25, 1e-12);
}

// GRPO, rewards (1, 0, 0, 1) in one group: mean 0.5, unbiased std sqrt(4·0.25/3) = 0.5773503,
// A = ±0.5 / (0.5773503 + 1e-6) = ±0.8660239. RLOO (1, 2, 3): A_1 = 1 - (2+3)/2 = -1.5, A_3 = 3 - 1.5 = 1.5.
// Group of one: GRPO mean 0, std 1 → A = R / (1 + 1e-6); RLOO → 0.
TEST(ObjectiveHand, GroupAdvantages) {
  std::vector<double> R = {1, 0, 0, 1};
  std::vector<int64_t> g = {0, 0, 0, 0};
  auto A = group_advantages(R, g, true, 1e-6);
  EXPECT_NEAR(A[0], 0.8660239, 1e-6);
  EXPECT_NEAR(A[1], -0.8660239, 1e-6);
  std::vector<double> R3 = {1, 2, 3, 7};
  std::vector<int64_t> g3 = {0, 0, 0, 1};
  auto L = rloo_advantages(R3, g3);
  EXPECT_NEAR(L[0], -1.5, 1e-12);
  EXPECT_NEAR(L[1], 0.0, 1e-12);
  EXPECT_NEAR(L[2], 1.5, 1e-12);
  EXPECT_EQ(L[3], 0.0);
  EXPECT_NEAR(group_advantages(R3, g3, true, 1e-6)[3], 7.0 / (1 + 1e-6), 1e-9);
  EXPECT_NEAR(group_advantages(R3, g3, false, 1e-6)[0], -1.0, 1e-12);
}

// SFT token-mean over 3 valid tokens (one masked): loss = (1 + 2 + 3)/3 = 2, dlogp = -1/3 on valid, 0 masked.
TEST(ObjectiveHand, SftTokenMean) {
  std::vector<int64_t> off = {0, 2, 4};
  std::vector<float> mask = {1, 1, 0, 1}, logp = {-1, -2, -9, -3}, d(4);
  Batch b;
  b.offsets = off;
  b.mask = mask;
  b.logp = logp;
  Result r = compute(find_preset("sft"), b, Grads{d, {}, {}});
  EXPECT_NEAR(r.loss, 2.0, 1e-12);
  EXPECT_NEAR(d[0], -1.0 / 3, 1e-7);
  EXPECT_EQ(d[2], 0.f);
}

// CHORD-mu: peak 0.9, valley 0.05, decay 200 → mu(100) = 0.05 + 0.85·½(1 + cos(π/2)) = 0.475;
// with warm-up 10: mu(5) = 0.9·5/10 = 0.45, mu(10) = peak, mu(210) and later = valley.
TEST(ObjectiveHand, ChordMuSchedule) {
  ObjectiveConfig c = find_preset("chord_mu");
  EXPECT_NEAR(chord_mu(c, 100), 0.475, 1e-12);
  EXPECT_NEAR(chord_mu(c, 1000), 0.05, 1e-12);
  c.mu_warmup_steps = 10;
  EXPECT_NEAR(chord_mu(c, 5), 0.45, 1e-12);
  EXPECT_NEAR(chord_mu(c, 10), 0.9, 1e-12);
  EXPECT_NEAR(chord_mu(find_preset("chord"), 77), 0.1, 1e-12);
}

TEST(ObjectivePresets, DefaultsMatchAlgorithmsMd) {
  auto g = find_preset("grpo");
  EXPECT_EQ(g.advantage.type, AdvantageType::kGrpo);
  EXPECT_EQ(g.agg, AggMode::kTokenMean);
  EXPECT_EQ(g.terms[1].type, TermType::kKl);
  EXPECT_DOUBLE_EQ(g.terms[1].weight, 0.001);
  EXPECT_EQ(g.kl_type, KlType::kK3);
  EXPECT_DOUBLE_EQ(g.clip_eps_low, 0.2);
  EXPECT_DOUBLE_EQ(g.clip_c, 3.0);
  EXPECT_DOUBLE_EQ(g.advantage.eps, 1e-6);
  EXPECT_DOUBLE_EQ(find_preset("dapo").clip_eps_high, 0.28);
  EXPECT_EQ(find_preset("dr_grpo").agg, AggMode::kSeqMeanTokenSumNorm);
  EXPECT_EQ(find_preset("dr_grpo").advantage.type, AdvantageType::kGroupMean);
  EXPECT_DOUBLE_EQ(find_preset("gspo").clip_eps_low, 3e-4);
  EXPECT_EQ(find_preset("gspo").agg, AggMode::kSeqMeanTokenMean);
  EXPECT_DOUBLE_EQ(find_preset("cispo").clip_eps_high, 5.0);
  EXPECT_DOUBLE_EQ(find_preset("simpo").beta, 2.5);
  EXPECT_DOUBLE_EQ(find_preset("simpo").simpo_gamma, 1.375);
  EXPECT_DOUBLE_EQ(find_preset("dpo").beta, 0.1);
  EXPECT_EQ(find_preset("ipo").dpo_loss, DpoLoss::kIpo);
  EXPECT_DOUBLE_EQ(find_preset("cpo").cpo_alpha, 1.0);
  auto l = find_preset("luffy");
  EXPECT_FALSE(l.clip);
  EXPECT_EQ(l.agg, AggMode::kTokenSumNorm);
  EXPECT_DOUBLE_EQ(l.luffy_gamma, 0.1);
  EXPECT_DOUBLE_EQ(l.terms[1].weight, 0.001);
  auto p = find_preset("ppo");
  EXPECT_DOUBLE_EQ(p.advantage.lam, 0.95);
  EXPECT_DOUBLE_EQ(p.advantage.kl_in_reward_coef, 0.05);
  EXPECT_DOUBLE_EQ(p.terms[1].weight, 0.1);
  EXPECT_EQ(find_preset("rloo").advantage.type, AdvantageType::kRloo);
  EXPECT_EQ(find_preset("relift").loop["sft_data_size"], 128);
  for (const auto& n : preset_names()) {
    EXPECT_NO_THROW(find_preset(n).validate()) << n;
    EXPECT_FALSE(find_preset(n).source.empty()) << n;
  }
}

TEST(ObjectivePresets, UnknownPresetListsNames) {
  const std::string m = error_of([] { find_preset("dpo2"); });
  EXPECT_NE(m.find("[objective.preset] unknown preset 'dpo2'; known: sft, dft"), std::string::npos) << m;
  EXPECT_NE(m.find("grpo"), std::string::npos) << m;
}

TEST(ObjectiveConfigJson, UserMixTakesBaseFromAlgorithmTerm) {
  const Json j = Json::parse(R"({"terms": [{"type": "grpo", "weight": 0.9}, {"type": "sft", "weight": 0.1, "on": "demo"}],
                                "loss_agg_mode": "seq-mean-token-mean", "clip_ratio_high": 0.28})");
  ObjectiveConfig c = objective_from_json(j, "objective", "run.yaml");
  ASSERT_EQ(c.terms.size(), 2u);
  EXPECT_EQ(c.terms[0].type, TermType::kPolicy);
  EXPECT_DOUBLE_EQ(c.terms[0].weight, 0.9);
  EXPECT_EQ(c.terms[1].type, TermType::kSft);
  EXPECT_EQ(c.terms[1].subset, Subset::kDemo);
  EXPECT_EQ(c.advantage.type, AdvantageType::kGrpo);
  EXPECT_EQ(c.agg, AggMode::kSeqMeanTokenMean);
  EXPECT_DOUBLE_EQ(c.clip_eps_high, 0.28);
}

TEST(ObjectiveConfigJson, ErrorsNameTheKey) {
  auto parse = [](const char* s) { return error_of([&] { objective_from_json(Json::parse(s), "objective", "run.yaml"); }); };
  std::string m = parse(R"({"terms": [{"type": "sft"}, {"type": "grpoo"}]})");
  EXPECT_NE(m.find("[objective.terms[1].type] unknown term 'grpoo'; known: sft, dft"), std::string::npos) << m;
  m = parse(R"({"preset": "dpo", "betta": 0.2})");
  EXPECT_NE(m.find("[objective.betta] unknown key"), std::string::npos) << m;
  m = parse(R"({"preset": "dpo", "beta": -1})");
  EXPECT_NE(m.find("[objective.beta] must be > 0"), std::string::npos) << m;
  m = parse(R"({"preset": "grpo", "loss_agg_mode": "token-meen"})");
  EXPECT_NE(m.find("[objective.loss_agg_mode] unknown loss_agg_mode 'token-meen'"), std::string::npos) << m;
  m = parse(R"({"terms": [{"type": "policy"}]})");
  EXPECT_NE(m.find("[objective.advantage.type]"), std::string::npos) << m;
  m = parse(R"({"preset": "grpo", "advantage": {"gama": 1}})");
  EXPECT_NE(m.find("[objective.advantage.gama] unknown key"), std::string::npos) << m;
  m = parse(R"({"terms": [{"type": "sft", "wieght": 1}]})");
  EXPECT_NE(m.find("[objective.terms[0].wieght] unknown key"), std::string::npos) << m;
}

TEST(ObjectiveConfigJson, RoundTripsEveryPreset) {
  for (const auto& n : preset_names()) {
    const ObjectiveConfig a = find_preset(n);
    const Json j = objective_to_json(a);
    const ObjectiveConfig b = objective_from_json(j, "objective", "roundtrip");
    EXPECT_EQ(objective_to_json(b), j) << n;
  }
}

// A reward model has no log-probs: rm reads only the head values at each sequence's last valid token.
// Pairs (r_w, r_l) = (2, 0.5) and (0, 1) with margin 0: loss = (log(1 + e^-1.5) + log(1 + e^1)) / 2
//   = (0.2014133 + 1.3132617) / 2 = 0.7573375;  dvalue(last of chosen 0) = -σ(-1.5)/2 = -0.1824255/2 = -0.0912128.
TEST(ObjectiveHand, RewardModelNeedsNoLogp) {
  std::vector<int64_t> off = {0, 2, 3, 5, 6};
  std::vector<float> mask = {1, 1, 1, 1, 0, 1}, values = {9, 2, 0.5f, 0, 7, 1}, dv(6);
  Batch b;
  b.offsets = off;
  b.mask = mask;
  b.values = values;
  Result r = compute(find_preset("rm"), b, Grads{{}, {}, dv});
  EXPECT_NEAR(r.loss, 0.7573375, 1e-7);
  EXPECT_NEAR(dv[1], -0.0912128, 1e-7);
  EXPECT_EQ(dv[0], 0.f);
  EXPECT_EQ(dv[4], 0.f);  // masked: the reward is read at token 3, the last valid one
  EXPECT_NEAR(r.stats["accuracy"], 0.5, 1e-12);
}

TEST(ObjectiveBatch, MissingInputsAreErrors) {
  std::vector<int64_t> off = {0, 2};
  std::vector<float> mask = {1, 1}, logp = {-1, -1}, bad = {0};
  Batch b;
  b.offsets = off;
  b.mask = mask;
  b.logp = logp;
  std::string m = error_of([&] { compute(find_preset("dpo"), b, {}); });
  EXPECT_NE(m.find("[objective.batch.ref_logp]"), std::string::npos) << m;
  b.old_logp = bad;
  m = error_of([&] { compute(find_preset("sft"), b, {}); });
  EXPECT_NE(m.find("[objective.batch.old_logp] expected 2 per-token values or none, got 1"), std::string::npos) << m;
}

}  // namespace
}  // namespace tandem::objective
