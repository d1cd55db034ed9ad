// Every preset (and variants of the knobs presets do not cover) against the independent plain-PyTorch
// reference tests/reference/objective_ref.py: rewards → advantages → loss → gradients w.r.t. logp,
// entropy and values. Random batches include masked tokens, empty completions, a group whose rewards are
// all equal, ratios on both sides of every clip boundary, and demonstrations inside groups.
// All cases go into one JSON file and one python launch (suite speed); each TEST checks one family.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <random>

#include "core/file.h"
#include "core/json.h"
#include "objective/advantage.h"
#include "objective/objective.h"
#include "objective/presets.h"
#include "testing/testing.h"

namespace tandem::objective {
namespace {

struct Case {
  std::string id, family;
  ObjectiveConfig cfg;
  std::vector<int64_t> offsets, group;
  std::vector<float> mask, logp, old_logp, ref_logp, entropy, values, old_values, reward, label, margin, baseline;
  std::vector<float> advantages, returns;  // given (kernel cases) or filled by compute_advantages
  std::vector<uint8_t> is_demo;
  double kto_kl = 0, global_tokens = 0, global_seqs = 0;
  int64_t pad_width = 0, step = 0;
  bool given_adv = false;
};

struct Gen {
  double ratio_noise = 0.5;  // spread of logp - old_logp: ρ on both sides of 1 ± 0.2 and past C = 3
  bool nonempty = false;     // rm/orpo need a valid token in every sequence
  bool demos = false;        // first sequence of each group is a demonstration
  int groups = 2, group_size = 4;
};

Case make_case(const std::string& id, const std::string& family, ObjectiveConfig cfg, uint64_t seed, Gen g = {}) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> n01(0.0, 1.0);
  std::uniform_real_distribution<double> u01(0.0, 1.0);
  Case c;
  c.id = id;
  c.family = family;
  c.cfg = std::move(cfg);
  const int B = g.groups * g.group_size;
  c.offsets.push_back(0);
  for (int s = 0; s < B; ++s) {
    int len = 1 + int(u01(rng) * 7);
    if (!g.nonempty && s == 2) len = 0;  // an empty completion
    c.offsets.push_back(c.offsets.back() + len);
    c.group.push_back(s / g.group_size);
    c.is_demo.push_back(g.demos && s % g.group_size == 0);
    // group 0: all rewards equal (std 0); group 1: binary
    c.reward.push_back(s < g.group_size ? 1.f : float(u01(rng) < 0.5));
    c.label.push_back(float(u01(rng) < 0.5));
    c.baseline.push_back(float(u01(rng)));
  }
  for (int p = 0; p < B / 2; ++p) c.margin.push_back(float(0.5 * n01(rng)));
  const int64_t N = c.offsets.back();
  for (int64_t s = 0; s < B; ++s) {
    const int64_t a = c.offsets[s], e = c.offsets[s + 1];
    for (int64_t t = a; t < e; ++t) {
      bool m = u01(rng) < 0.8;
      if (s == 5) m = false;             // a sequence whose tokens are all masked
      if (g.nonempty && t == e - 1) m = true;
      c.mask.push_back(m ? 1.f : 0.f);
    }
  }
  for (int64_t t = 0; t < N; ++t) {
    const double lp = -std::abs(n01(rng)) * 1.5 - 0.01;
    c.logp.push_back(float(lp));
    c.old_logp.push_back(float(lp + g.ratio_noise * n01(rng)));
    c.ref_logp.push_back(float(lp + 0.5 * n01(rng)));
    c.entropy.push_back(float(std::abs(n01(rng)) * 2));
    const double v = n01(rng);
    c.values.push_back(float(v));
    c.old_values.push_back(float(v + 0.6 * n01(rng)));
  }
  c.kto_kl = 0.5 * n01(rng);
  return c;
}

Case given_adv_case(const std::string& id, ObjectiveConfig cfg, uint64_t seed, double noise) {
  Gen g;
  g.ratio_noise = noise;
  Case c = make_case(id, "kernel", std::move(cfg), seed, g);
  std::mt19937_64 rng(seed * 7 + 1);
  std::normal_distribution<double> n01(0.0, 1.0);
  for (size_t t = 0; t < c.logp.size(); ++t) {
    c.advantages.push_back(float(1.5 * n01(rng)));
    c.returns.push_back(float(n01(rng)));
  }
  c.given_adv = true;
  return c;
}

Json to_json(const Case& c) {
  auto f = [](const std::vector<float>& v) {
    Json a = Json::array();
    for (float x : v) a.push_back(double(x));
    return a;
  };
  Json b = {{"offsets", c.offsets},   {"mask", f(c.mask)},        {"logp", f(c.logp)},
            {"old_logp", f(c.old_logp)}, {"ref_logp", f(c.ref_logp)}, {"entropy", f(c.entropy)},
            {"values", f(c.values)},   {"old_values", f(c.old_values)}, {"reward", f(c.reward)},
            {"label", f(c.label)},     {"margin", f(c.margin)},    {"baseline", f(c.baseline)},
            {"group", c.group},        {"kto_kl", c.kto_kl},       {"global_tokens", c.global_tokens},
            {"global_seqs", c.global_seqs}, {"pad_width", c.pad_width}, {"step", c.step},
            {"use_given_advantages", c.given_adv}};
  Json demo = Json::array();
  for (uint8_t d : c.is_demo) demo.push_back(int(d));
  b["is_demo"] = demo;
  if (c.given_adv) {
    b["advantages"] = f(c.advantages);
    b["returns"] = f(c.returns);
  }
  return {{"id", c.id}, {"config", objective_to_json(c.cfg)}, {"batch", b}};
}

struct Got {
  double loss;
  std::vector<float> dlogp, dent, dval, adv, ret;
};

Got run_ours(Case& c) {
  if (!c.given_adv) {
    AdvantageInput in{c.offsets, c.mask, c.reward, c.group, c.old_logp, c.ref_logp, c.old_values, c.baseline};
    Advantages a = compute_advantages(c.cfg.advantage, in);
    c.advantages = a.advantages;
    c.returns = a.returns;
  }
  Batch b;
  b.offsets = c.offsets;
  b.mask = c.mask;
  b.logp = c.logp;
  b.old_logp = c.old_logp;
  b.ref_logp = c.ref_logp;
  b.entropy = c.entropy;
  b.values = c.values;
  b.old_values = c.old_values;
  b.advantages = c.advantages;
  b.returns = c.returns;
  b.reward = c.reward;
  b.is_demo = c.is_demo;
  b.label = c.label;
  b.margin = c.margin;
  b.kto_kl = c.kto_kl;
  b.global_tokens = c.global_tokens;
  b.global_seqs = c.global_seqs;
  b.pad_width = c.pad_width;
  b.step = c.step;
  const size_t N = c.logp.size();
  Got g;
  g.dlogp.assign(N, 0.f);
  g.dent.assign(N, 0.f);
  g.dval.assign(N, 0.f);
  g.loss = compute(c.cfg, b, Grads{g.dlogp, g.dent, g.dval}).loss;
  g.adv = c.advantages;
  g.ret = c.returns;
  return g;
}

std::vector<Case> all_cases() {
  std::vector<Case> v;
  uint64_t seed = 1;
  const std::vector<std::string> pref = {"dpo", "dpo_hinge", "ipo", "simpo", "orpo", "kto", "cpo", "rm"};
  const std::vector<std::string> hybrid = {"luffy", "srft", "chord", "chord_mu", "relift", "uft", "hpt"};
  for (const std::string& name : preset_names()) {
    const bool is_pref = std::find(pref.begin(), pref.end(), name) != pref.end();
    const bool is_hybrid = std::find(hybrid.begin(), hybrid.end(), name) != hybrid.end();
    const std::string fam = is_pref ? "preference" : is_hybrid ? "hybrid"
                          : (name == "sft" || name == "dft" || name == "rft") ? "supervised" : "policy";
    for (int k = 0; k < 3; ++k) {
      Gen g;
      g.nonempty = name == "rm" || name == "orpo";
      g.demos = is_hybrid;
      Case c = make_case(cat(name, "/", k), fam, find_preset(name), seed++, g);
      c.step = 37;
      v.push_back(std::move(c));
    }
  }
  // GSPO's ε is 3e-4: a tiny ratio spread puts sequence ratios on both sides of the clip.
  for (int k = 0; k < 3; ++k) {
    Gen g;
    g.ratio_noise = 4e-4;
    v.push_back(make_case(cat("gspo_tight/", k), "policy", find_preset("gspo"), seed++, g));
  }
  // Every aggregation mode, with local and global denominators and both L_norm sources.
  for (const char* mode : {"token-mean", "token-sum", "seq-mean-token-sum", "seq-mean-token-mean",
                           "seq-mean-token-sum-norm", "token-sum-norm"}) {
    ObjectiveConfig c = find_preset("grpo");
    c.agg = parse_agg(mode, "test");
    v.push_back(make_case(cat("agg/", mode, "/local"), "aggregation", c, seed++));
    Case g = make_case(cat("agg/", mode, "/global"), "aggregation", c, seed++);
    g.global_tokens = 57;
    g.global_seqs = 13;
    g.pad_width = 11;
    v.push_back(g);
    c.agg_norm = 4096;
    v.push_back(make_case(cat("agg/", mode, "/const"), "aggregation", c, seed++));
  }
  // KL estimators in the loss (x spread 0.5 and 30, so the k3 clamps at ±20 and 10 are both crossed).
  for (const char* k : {"k1", "k2", "k3", "abs", "k1+", "k3+"}) {
    ObjectiveConfig c = find_preset("grpo");
    c.kl_type = parse_kl(k, "test");
    c.terms[1].weight = 0.3;
    v.push_back(make_case(cat("kl/", k), "kl", c, seed++));
    Case w = make_case(cat("kl/", k, "/wide"), "kl", c, seed++);
    for (size_t t = 0; t < w.ref_logp.size(); ++t) w.ref_logp[t] = w.logp[t] + float(double(t % 3) - 1.0) * 25.f + 0.1f;
    v.push_back(w);
  }
  // Kernels on given advantages: dual clip, the ±20 log-ratio clamp (set to 0.8 to be crossed), no clip.
  {
    ObjectiveConfig c = find_preset("grpo");
    c.terms = {c.terms[0]};
    for (int k = 0; k < 3; ++k) v.push_back(given_adv_case(cat("policy_dual/", k), c, seed++, 0.9));
    c.log_ratio_clamp = 0.8;
    v.push_back(given_adv_case("policy_clamp", c, seed++, 0.9));
    c.clip = false;
    v.push_back(given_adv_case("policy_noclip", c, seed++, 0.9));
    c = find_preset("cispo");
    c.clip_eps_low = 0.2;
    c.clip_eps_high = 0.28;
    v.push_back(given_adv_case("cispo_tight", c, seed++, 0.9));
    c = find_preset("ppo");
    v.push_back(given_adv_case("value_clip", c, seed++, 0.5));
    c.value_clip = 0;
    v.push_back(given_adv_case("value_noclip", c, seed++, 0.5));
    c = find_preset("remax");
    v.push_back(given_adv_case("reinforce", c, seed++, 0.5));
  }
  // Preference knobs.
  {
    ObjectiveConfig c = find_preset("dpo");
    c.label_smoothing = 0.1;
    v.push_back(make_case("dpo_ls", "preference", c, seed++));
    c = find_preset("dpo_hinge");
    c.beta = 1.0;  // 1 - beta h on both sides of 0
    v.push_back(make_case("dpo_hinge_wide", "preference", c, seed++));
    c = find_preset("cpo");
    c.label_smoothing = 0.2;
    c.cpo_alpha = 0.5;
    v.push_back(make_case("cpo_ls", "preference", c, seed++));
    c = find_preset("simpo");
    c.label_smoothing = 0.1;
    v.push_back(make_case("simpo_ls", "preference", c, seed++));
    c = find_preset("rm");
    c.rm_center_coef = 0.01;
    Gen g;
    g.nonempty = true;
    v.push_back(make_case("rm_center", "preference", c, seed++, g));
    c = find_preset("kto");
    c.kto_undesirable_weight = 1.33;
    for (int k = 0; k < 3; ++k) v.push_back(make_case(cat("kto_w/", k), "preference", c, seed++));
  }
  // Advantage knobs: KL in the reward for every estimator family, GAE without whitening.
  for (const char* a : {"grpo", "group_mean", "rloo", "reinforce_pp", "reinforce_pp_baseline", "remax", "gae"}) {
    ObjectiveConfig c = find_preset("grpo");
    c.advantage.type = parse_advantage(a, "test");
    c.advantage.kl_in_reward_coef = 0.1;
    c.advantage.kl_in_reward_type = KlType::kK3;
    c.advantage.gamma = 0.9;
    c.advantage.lam = 0.8;
    v.push_back(make_case(cat("adv/", a), "advantage", c, seed++));
  }
  {
    ObjectiveConfig c = find_preset("ppo");
    c.advantage.whiten = false;
    v.push_back(make_case("adv/gae_nowhiten", "advantage", c, seed++));
    // CHORD schedule mid-warm-up and mid-decay.
    c = find_preset("chord_mu");
    c.mu_warmup_steps = 10;
    Gen g;
    g.demos = true;
    for (int64_t step : {3, 60, 500}) {
      Case k = make_case(cat("chord_mu/step", step), "hybrid", c, seed++, g);
      k.step = step;
      v.push_back(k);
    }
  }
  return v;
}

class ObjectiveRef : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    have_torch_ = testing::have_debian_torch();
    if (!have_torch_) return;
    cases_ = new std::vector<Case>(all_cases());
    Json in = {{"cases", Json::array()}};
    for (const Case& c : *cases_) in["cases"].push_back(to_json(c));
    dir_ = new testing::TempDir("objective_ref");
    write_file_atomic(dir_->file("in.json"), in.dump());
    std::string out;
    const std::string cmd = cat(testing::debian_python(), " ", testing::source_dir(), "/tests/reference/objective_ref.py ",
                                dir_->file("in.json"), " ", dir_->file("out.json"));
    status_ = testing::run_command(cmd, &out);
    log_ = new std::string(out);
    if (status_ == 0) {
      results_ = new std::map<std::string, Json>();
      const Json out_json = read_json_file(dir_->file("out.json"), "test");
      for (const Json& r : out_json["results"])
        (*results_)[r["id"].get<std::string>()] = r;
    }
  }
  static void TearDownTestSuite() {
    delete cases_;
    delete dir_;
    delete log_;
    delete results_;
  }

  void check_family(const std::string& family) {
    if (!have_torch_) GTEST_SKIP() << "no /usr/bin/python3 with torch";
    ASSERT_EQ(status_, 0) << *log_;
    int n = 0;
    for (Case& c : *cases_) {
      if (c.family != family) continue;
      ++n;
      const Got got = run_ours(c);
      ASSERT_TRUE(results_->count(c.id)) << c.id << " missing; python said: " << *log_ << " n=" << results_->size();
      const Json& want = results_->at(c.id);
      auto vec = [&](const char* k) { return want[k].get<std::vector<double>>(); };
      const double wl = want["loss"].get<double>();
      EXPECT_LE(std::abs(got.loss - wl), 1e-6 * std::abs(wl) + 1e-12) << c.id << " loss " << got.loss << " vs " << wl;
      auto tol = [](const std::vector<double>& w) {
        double mx = 0;
        for (double x : w) mx = std::max(mx, std::abs(x));
        return testing::Tol{1e-7 * mx + 1e-12, 1e-5};
      };
      for (auto [name, ours] : {std::pair{"dlogp", &got.dlogp}, std::pair{"dentropy", &got.dent},
                                std::pair{"dvalues", &got.dval}, std::pair{"advantages", &got.adv},
                                std::pair{"returns", &got.ret}}) {
        const auto w = vec(name);
        EXPECT_TRUE(testing::all_close(*ours, w, tol(w), c.id + " " + name));
      }
    }
    EXPECT_GT(n, 0) << "no cases in family " << family;
  }

  static inline std::vector<Case>* cases_ = nullptr;
  static inline testing::TempDir* dir_ = nullptr;
  static inline std::string* log_ = nullptr;
  static inline std::map<std::string, Json>* results_ = nullptr;
  static inline int status_ = -1;
  static inline bool have_torch_ = false;
};

// One test, so that ctest (one process per test) launches python once; failures name the case id.
TEST_F(ObjectiveRef, EveryPresetAndKnobMatchesPyTorch) {
  for (const char* f : {"supervised", "preference", "policy", "hybrid", "aggregation", "kl", "kernel", "advantage"}) {
    SCOPED_TRACE(f);
    check_family(f);
  }
}

}  // namespace
}  // namespace tandem::objective
