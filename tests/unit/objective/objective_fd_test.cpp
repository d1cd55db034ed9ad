// Central differences of compute()'s loss against its gradients, for presets whose loss is smooth at the
// sampled point — a check that needs no python, so it also runs where Debian's torch is missing.
// Inputs are float, so h = 1e-3 and the tolerance is loose (truncation O(h²), rounding 1e-7/h); the
// PyTorch comparison in objective_ref_test.cpp is the tight one.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "objective/advantage.h"
#include "objective/objective.h"
#include "objective/presets.h"

namespace tandem::objective {
namespace {

struct Data {
  std::vector<int64_t> offsets = {0, 3, 5, 9, 10, 14, 16, 17, 20}, group = {0, 0, 0, 0, 1, 1, 1, 1};
  std::vector<float> mask, logp, old_logp, ref_logp, entropy, values, old_values, reward, label, margin;
  std::vector<float> adv, ret;
  std::vector<uint8_t> demo = {1, 0, 0, 0, 1, 0, 0, 0};
};

Data make(uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> n(0.0, 1.0);
  Data d;
  for (int t = 0; t < 20; ++t) {
    d.mask.push_back(t % 7 == 3 ? 0.f : 1.f);
    const double lp = -std::abs(n(rng)) - 0.05;
    d.logp.push_back(float(lp));
    d.old_logp.push_back(float(lp + 0.05 * n(rng)));  // ratios well inside the 0.2 clip: smooth
    d.ref_logp.push_back(float(lp + 0.3 * n(rng)));
    d.entropy.push_back(float(std::abs(n(rng))));
    d.values.push_back(float(n(rng)));
    d.old_values.push_back(d.values.back());
  }
  for (int s = 0; s < 8; ++s) {
    d.reward.push_back(float(s % 3 == 0));
    d.label.push_back(float(s % 2));
  }
  d.margin = {0.1f, -0.2f, 0.f, 0.3f};
  return d;
}

double loss_at(const ObjectiveConfig& c, Data& d, std::vector<float>* dlogp, std::vector<float>* dent,
               std::vector<float>* dval) {
  Batch b;
  b.offsets = d.offsets;
  b.mask = d.mask;
  b.logp = d.logp;
  b.old_logp = d.old_logp;
  b.ref_logp = d.ref_logp;
  b.entropy = d.entropy;
  b.values = d.values;
  b.old_values = d.old_values;
  b.advantages = d.adv;
  b.returns = d.ret;
  b.reward = d.reward;
  b.is_demo = d.demo;
  b.label = d.label;
  b.margin = d.margin;
  b.kto_kl = 0.2;
  b.step = 50;
  Grads g;
  if (dlogp) g.dlogp = *dlogp;
  if (dent) g.dentropy = *dent;
  if (dval) g.dvalues = *dval;
  return compute(c, b, g).loss;
}

TEST(ObjectiveFiniteDifference, GradientsMatchLossSlopes) {
  // Presets whose loss has no stop-gradient (dft, chord_phi, cispo, gspo and srft weights are detached by
  // design, so their gradient is not the slope of their loss value).
  for (const char* name : {"sft", "dpo", "ipo", "simpo", "orpo", "kto", "cpo", "rm", "grpo", "dr_grpo", "rloo",
                           "remax", "luffy", "uft", "hpt", "relift", "chord_mu", "reinforce_pp", "ppo"}) {
    SCOPED_TRACE(name);
    ObjectiveConfig c = find_preset(name);
    if (std::string(name) == "ppo") c.value_clip = 10;  // keep the value loss away from its clip kink
    Data d = make(42);
    AdvantageInput in{d.offsets, d.mask, d.reward, d.group, d.old_logp, d.ref_logp, d.old_values, d.reward};
    Advantages a = compute_advantages(c.advantage, in);
    d.adv = a.advantages;
    d.ret = a.returns;
    std::vector<float> gl(20), ge(20), gv(20);
    loss_at(c, d, &gl, &ge, &gv);
    const double h = 1e-3;
    for (auto [field, grad] : {std::pair{&Data::logp, &gl}, std::pair{&Data::entropy, &ge}, std::pair{&Data::values, &gv}}) {
      double mx = 0;
      for (float x : *grad) mx = std::max(mx, double(std::abs(x)));
      for (int t = 0; t < 20; ++t) {
        Data p = d, m = d;
        (p.*field)[t] += float(h);
        (m.*field)[t] -= float(h);
        const double hp = double((p.*field)[t]) - double((d.*field)[t]), hm = double((d.*field)[t]) - double((m.*field)[t]);
        const double fd = (loss_at(c, p, nullptr, nullptr, nullptr) - loss_at(c, m, nullptr, nullptr, nullptr)) / (hp + hm);
        EXPECT_NEAR((*grad)[t], fd, 2e-3 * mx + 1e-6) << "token " << t;
      }
    }
  }
}

}  // namespace
}  // namespace tandem::objective
