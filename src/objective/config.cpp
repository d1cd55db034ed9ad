// Names, validation and the JSON form of ObjectiveConfig; CHORD's mu schedule.
// The JSON keys are the field names of config.h, except where verl/TRL users know another name:
// loss_agg_mode, loss_scale_factor, clip_ratio_low/high/c, cliprange_value, kl_loss_type, loss_type.
#include "objective/config.h"

#include <cmath>
#include <functional>
#include <numbers>

#include "core/error.h"
#include "objective/presets.h"

namespace tandem::objective {

namespace {

template <class E>
struct Named {
  E value;
  const char* name;
};
constexpr Named<AggMode> kAggNames[] = {
    {AggMode::kTokenMean, "token-mean"},
    {AggMode::kTokenSum, "token-sum"},
    {AggMode::kSeqMeanTokenSum, "seq-mean-token-sum"},
    {AggMode::kSeqMeanTokenMean, "seq-mean-token-mean"},
    {AggMode::kSeqMeanTokenSumNorm, "seq-mean-token-sum-norm"},
    {AggMode::kTokenSumNorm, "token-sum-norm"},
};
constexpr Named<TermType> kTermNames[] = {
    {TermType::kSft, "sft"},         {TermType::kDft, "dft"},         {TermType::kChordPhi, "chord_phi"},
    {TermType::kPolicy, "policy"},   {TermType::kCispo, "cispo"},     {TermType::kGspo, "gspo"},
    {TermType::kReinforce, "reinforce"}, {TermType::kLuffy, "luffy"}, {TermType::kSrft, "srft"},
    {TermType::kValue, "value"},     {TermType::kKl, "kl"},           {TermType::kEntropy, "entropy"},
    {TermType::kDpo, "dpo"},         {TermType::kSimpo, "simpo"},     {TermType::kOrpo, "orpo"},
    {TermType::kKto, "kto"},         {TermType::kCpo, "cpo"},         {TermType::kRm, "rm"},
};
constexpr Named<AdvantageType> kAdvNames[] = {
    {AdvantageType::kNone, "none"},
    {AdvantageType::kGrpo, "grpo"},
    {AdvantageType::kGroupMean, "group_mean"},
    {AdvantageType::kRloo, "rloo"},
    {AdvantageType::kReinforcePP, "reinforce_pp"},
    {AdvantageType::kReinforcePPBaseline, "reinforce_pp_baseline"},
    {AdvantageType::kRemax, "remax"},
    {AdvantageType::kGae, "gae"},
};
constexpr Named<KlType> kKlNames[] = {
    {KlType::kK1, "k1"}, {KlType::kK2, "k2"}, {KlType::kK3, "k3"},
    {KlType::kAbs, "abs"}, {KlType::kK1Plus, "k1+"}, {KlType::kK3Plus, "k3+"},
};
constexpr Named<DpoLoss> kDpoNames[] = {{DpoLoss::kSigmoid, "sigmoid"}, {DpoLoss::kHinge, "hinge"}, {DpoLoss::kIpo, "ipo"}};
constexpr Named<Subset> kSubsetNames[] = {{Subset::kAll, "all"}, {Subset::kDemo, "demo"}, {Subset::kRollout, "rollout"}};

template <class E, size_t K>
const char* name_of(const Named<E> (&table)[K], E v) {
  for (const auto& n : table)
    if (n.value == v) return n.name;
  return "?";
}
template <class E, size_t K>
std::string known(const Named<E> (&table)[K]) {
  std::string s;
  for (const auto& n : table) s += (s.empty() ? "" : ", ") + std::string(n.name);
  return s;
}
template <class E, size_t K>
E parse_named(const Named<E> (&table)[K], const std::string& s, const std::string& where, const char* what) {
  for (const auto& n : table)
    if (s == n.name) return n.value;
  throw Error(where, cat("unknown ", what, " '", s, "'; known: ", known(table)));
}
// verl's names for the KL estimators are accepted too.
KlType parse_kl_any(const std::string& s, const std::string& where) {
  if (s == "kl") return KlType::kK1;
  if (s == "mse") return KlType::kK2;
  if (s == "low_var_kl") return KlType::kK3;
  return parse_named(kKlNames, s, where, "KL estimator");
}

std::string str_at(const Json& v, const std::string& where, const std::string& origin) {
  if (!v.is_string()) throw Error(where, cat("expected a string, got ", json_type_name(v), " ", v.dump(), " (", origin, ")"));
  return v.get<std::string>();
}

}  // namespace

const char* term_name(TermType t) { return name_of(kTermNames, t); }
const char* agg_name(AggMode m) { return name_of(kAggNames, m); }
const char* advantage_name(AdvantageType a) { return name_of(kAdvNames, a); }
const char* kl_name(KlType k) { return name_of(kKlNames, k); }
AggMode parse_agg(const std::string& s, const std::string& where) { return parse_named(kAggNames, s, where, "loss_agg_mode"); }
KlType parse_kl(const std::string& s, const std::string& where) { return parse_kl_any(s, where); }
AdvantageType parse_advantage(const std::string& s, const std::string& where) {
  return parse_named(kAdvNames, s, where, "advantage estimator");
}

void AdvantageConfig::validate(const std::string& where) const {
  if (!(eps > 0)) throw Error(where + ".eps", cat("must be > 0, got ", eps));
  if (!(gamma >= 0 && gamma <= 1)) throw Error(where + ".gamma", cat("must be in [0, 1], got ", gamma));
  if (!(lam >= 0 && lam <= 1)) throw Error(where + ".lam", cat("must be in [0, 1], got ", lam));
  if (!(kl_in_reward_coef >= 0)) throw Error(where + ".kl_in_reward_coef", cat("must be >= 0, got ", kl_in_reward_coef));
}

void ObjectiveConfig::validate() const {
  const std::string w = "objective";
  if (terms.empty()) throw Error(w + ".terms", "expected at least one term, got none");
  bool needs_adv = false;
  for (size_t i = 0; i < terms.size(); ++i) {
    if (!std::isfinite(terms[i].weight))
      throw Error(cat(w, ".terms[", i, "].weight"), cat("must be finite, got ", terms[i].weight));
    const TermType t = terms[i].type;
    needs_adv |= t == TermType::kPolicy || t == TermType::kCispo || t == TermType::kGspo ||
                 t == TermType::kReinforce || t == TermType::kLuffy || t == TermType::kSrft;
  }
  if (needs_adv && advantage.type == AdvantageType::kNone)
    throw Error(w + ".advantage.type", "a policy-gradient term needs an advantage estimator, expected one of "
                                       "grpo, group_mean, rloo, reinforce_pp, reinforce_pp_baseline, remax, gae, got none");
  advantage.validate(w + ".advantage");
  if (!(agg_norm >= 0)) throw Error(w + ".loss_scale_factor", cat("must be >= 0 (0 = padded width), got ", agg_norm));
  if (!(clip_eps_low >= 0 && clip_eps_low <= 1)) throw Error(w + ".clip_ratio_low", cat("must be in [0, 1], got ", clip_eps_low));
  if (!(clip_eps_high >= 0)) throw Error(w + ".clip_ratio_high", cat("must be >= 0, got ", clip_eps_high));
  if (!(clip_c == 0 || clip_c > 1)) throw Error(w + ".clip_ratio_c", cat("must be 0 (off) or > 1, got ", clip_c));
  if (!(log_ratio_clamp > 0)) throw Error(w + ".log_ratio_clamp", cat("must be > 0, got ", log_ratio_clamp));
  if (!(beta > 0)) throw Error(w + ".beta", cat("must be > 0, got ", beta));
  if (!(label_smoothing >= 0 && label_smoothing < 0.5))
    throw Error(w + ".label_smoothing", cat("must be in [0, 0.5), got ", label_smoothing));
  if (!(cpo_alpha >= 0)) throw Error(w + ".cpo_alpha", cat("must be >= 0, got ", cpo_alpha));
  if (!(kto_desirable_weight >= 0)) throw Error(w + ".desirable_weight", cat("must be >= 0, got ", kto_desirable_weight));
  if (!(kto_undesirable_weight >= 0))
    throw Error(w + ".undesirable_weight", cat("must be >= 0, got ", kto_undesirable_weight));
  if (!(luffy_gamma > 0)) throw Error(w + ".luffy_gamma", cat("must be > 0, got ", luffy_gamma));
  if (!(mu_peak >= 0 && mu_peak <= 1)) throw Error(w + ".mu_peak", cat("must be in [0, 1], got ", mu_peak));
  if (!(mu_valley >= 0 && mu_valley <= 1)) throw Error(w + ".mu_valley", cat("must be in [0, 1], got ", mu_valley));
  if (mu_warmup_steps < 0) throw Error(w + ".mu_warmup_steps", cat("must be >= 0, got ", mu_warmup_steps));
  if (mu_decay_steps < 0) throw Error(w + ".mu_decay_steps", cat("must be >= 0, got ", mu_decay_steps));
}

double chord_mu(const ObjectiveConfig& c, int64_t step) {
  if (step < c.mu_warmup_steps) return c.mu_peak * double(step) / double(c.mu_warmup_steps);
  const int64_t k = step - c.mu_warmup_steps;
  if (k < c.mu_decay_steps) {
    const double f = 0.5 * (1.0 + std::cos(std::numbers::pi * double(k) / double(c.mu_decay_steps)));
    return c.mu_valley + (c.mu_peak - c.mu_valley) * f;
  }
  return c.mu_valley;
}

ObjectiveConfig objective_from_json(const Json& j, const std::string& where, const std::string& origin) {
  if (!j.is_object()) throw Error(where, cat("expected an object, got ", json_type_name(j), " (", origin, ")"));
  // Base: "preset", else the first term whose type names a preset with an advantage estimator, else the
  // first term naming any preset (so {terms: [{type: grpo}, {type: sft}]} gets GRPO's advantages and ε).
  ObjectiveConfig c;
  bool based = false;
  if (j.contains("preset")) {
    c = find_preset(str_at(j["preset"], where + ".preset", origin));
    based = true;
  } else if (j.contains("terms") && j["terms"].is_array()) {
    for (int pass = 0; pass < 2 && !based; ++pass)
      for (const Json& t : j["terms"]) {
        if (!t.is_object() || !t.contains("type") || !t["type"].is_string()) continue;
        const std::string n = t["type"].get<std::string>();
        if (!has_preset(n)) continue;
        ObjectiveConfig p = find_preset(n);
        if (pass == 0 && p.advantage.type == AdvantageType::kNone) continue;
        c = p;
        based = true;
        break;
      }
  }
  if (j.contains("terms")) {
    const Json& ts = j["terms"];
    const std::string tw = where + ".terms";
    if (!ts.is_array()) throw Error(tw, cat("expected an array, got ", json_type_name(ts), " (", origin, ")"));
    c.terms.clear();
    for (size_t i = 0; i < ts.size(); ++i) {
      const std::string w = cat(tw, "[", i, "]");
      const Json& t = ts[i];
      if (!t.is_object()) throw Error(w, cat("expected an object, got ", json_type_name(t), " (", origin, ")"));
      for (auto it = t.begin(); it != t.end(); ++it)
        if (it.key() != "type" && it.key() != "weight" && it.key() != "on" && it.key() != "loss_agg_mode" &&
            it.key() != "schedule")
          throw Error(w + "." + it.key(), cat("unknown key; known: type, weight, on, loss_agg_mode, schedule (", origin, ")"));
      const std::string type = json_string(t, "type", w, origin);
      TermSpec spec;
      bool found = false;
      for (const auto& n : kTermNames)
        if (type == n.name) spec.type = n.value, found = true;
      if (!found && has_preset(type)) {  // an algorithm name stands for its preset's first term
        spec = find_preset(type).terms.front();
        found = true;
      }
      if (!found) {
        std::string names = known(kTermNames);
        for (const auto& p : preset_names()) names += ", " + p;
        throw Error(w + ".type", cat("unknown term '", type, "'; known: ", names, " (", origin, ")"));
      }
      spec.weight = json_number_or(t, "weight", 1.0, w, origin);
      if (t.contains("on")) spec.subset = parse_named(kSubsetNames, str_at(t["on"], w + ".on", origin), w + ".on", "subset");
      if (t.contains("loss_agg_mode"))
        spec.agg = parse_agg(str_at(t["loss_agg_mode"], w + ".loss_agg_mode", origin), w + ".loss_agg_mode");
      if (t.contains("schedule")) {
        const std::string s = str_at(t["schedule"], w + ".schedule", origin);
        if (s == "mu") spec.schedule = TermSpec::Schedule::kMu;
        else if (s == "one_minus_mu") spec.schedule = TermSpec::Schedule::kOneMinusMu;
        else if (s == "none") spec.schedule = TermSpec::Schedule::kNone;
        else throw Error(w + ".schedule", cat("unknown schedule '", s, "'; known: none, mu, one_minus_mu (", origin, ")"));
      }
      c.terms.push_back(spec);
    }
  }
  // Scalar fields: one table drives parsing and the unknown-key check.
  std::vector<std::pair<const char*, double*>> nums = {
      {"loss_scale_factor", &c.agg_norm},     {"clip_ratio_low", &c.clip_eps_low},
      {"clip_ratio_high", &c.clip_eps_high},  {"clip_ratio_c", &c.clip_c},
      {"log_ratio_clamp", &c.log_ratio_clamp}, {"gspo_log_ratio_max", &c.gspo_log_ratio_max},
      {"cliprange_value", &c.value_clip},     {"beta", &c.beta},
      {"label_smoothing", &c.label_smoothing}, {"simpo_gamma", &c.simpo_gamma},
      {"cpo_alpha", &c.cpo_alpha},            {"desirable_weight", &c.kto_desirable_weight},
      {"undesirable_weight", &c.kto_undesirable_weight}, {"center_rewards_coefficient", &c.rm_center_coef},
      {"luffy_gamma", &c.luffy_gamma},        {"srft_sft_scale", &c.srft_sft_scale},
      {"srft_rl_scale", &c.srft_rl_scale},    {"mu_peak", &c.mu_peak},
      {"mu_valley", &c.mu_valley},
  };
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& k = it.key();
    const std::string kw = where + "." + k;
    if (k == "preset" || k == "terms") continue;
    bool done = false;
    for (auto& [name, ptr] : nums)
      if (k == name) *ptr = json_number(j, k, where, origin), done = true;
    if (done) continue;
    if (k == "name") c.name = str_at(*it, kw, origin);
    else if (k == "source") c.source = str_at(*it, kw, origin);
    else if (k == "loss_agg_mode") c.agg = parse_agg(str_at(*it, kw, origin), kw);
    else if (k == "clip") c.clip = json_bool_or(j, k, true, where, origin);
    else if (k == "kl_loss_type") c.kl_type = parse_kl_any(str_at(*it, kw, origin), kw);
    else if (k == "loss_type") c.dpo_loss = parse_named(kDpoNames, str_at(*it, kw, origin), kw, "loss_type");
    else if (k == "mu_warmup_steps") c.mu_warmup_steps = json_int(j, k, where, origin);
    else if (k == "mu_decay_steps") c.mu_decay_steps = json_int(j, k, where, origin);
    else if (k == "loop") c.loop = *it;
    else if (k == "advantage") {
      const Json& a = *it;
      if (!a.is_object()) throw Error(kw, cat("expected an object, got ", json_type_name(a), " (", origin, ")"));
      for (auto ai = a.begin(); ai != a.end(); ++ai) {
        const std::string& ak = ai.key();
        const std::string aw = kw + "." + ak;
        if (ak == "type") c.advantage.type = parse_advantage(str_at(*ai, aw, origin), aw);
        else if (ak == "eps") c.advantage.eps = json_number(a, ak, kw, origin);
        else if (ak == "gamma") c.advantage.gamma = json_number(a, ak, kw, origin);
        else if (ak == "lam") c.advantage.lam = json_number(a, ak, kw, origin);
        else if (ak == "whiten") c.advantage.whiten = json_bool_or(a, ak, true, kw, origin);
        else if (ak == "kl_in_reward_coef") c.advantage.kl_in_reward_coef = json_number(a, ak, kw, origin);
        else if (ak == "kl_in_reward_type") c.advantage.kl_in_reward_type = parse_kl_any(str_at(*ai, aw, origin), aw);
        else throw Error(aw, cat("unknown key; known: type, eps, gamma, lam, whiten, kl_in_reward_coef, kl_in_reward_type (", origin, ")"));
      }
    } else {
      std::string names = "preset, terms, name, source, loss_agg_mode, clip, kl_loss_type, loss_type, mu_warmup_steps, "
                          "mu_decay_steps, loop, advantage";
      for (auto& [name, ptr] : nums) names += cat(", ", name);
      throw Error(kw, cat("unknown key; known: ", names, " (", origin, ")"));
    }
  }
  if (!based && !j.contains("preset") && !j.contains("terms"))
    throw Error(where, cat("expected \"preset\" or \"terms\", got neither (", origin, ")"));
  c.validate();
  return c;
}

Json objective_to_json(const ObjectiveConfig& c) {
  Json terms = Json::array();
  for (const TermSpec& t : c.terms) {
    Json e = {{"type", term_name(t.type)}, {"weight", t.weight}, {"on", name_of(kSubsetNames, t.subset)}};
    if (t.agg) e["loss_agg_mode"] = agg_name(*t.agg);
    e["schedule"] = t.schedule == TermSpec::Schedule::kMu ? "mu"
                    : t.schedule == TermSpec::Schedule::kOneMinusMu ? "one_minus_mu" : "none";
    terms.push_back(e);
  }
  Json j = {{"name", c.name},
            {"terms", terms},
            {"loss_agg_mode", agg_name(c.agg)},
            {"loss_scale_factor", c.agg_norm},
            {"advantage",
             {{"type", advantage_name(c.advantage.type)},
              {"eps", c.advantage.eps},
              {"gamma", c.advantage.gamma},
              {"lam", c.advantage.lam},
              {"whiten", c.advantage.whiten},
              {"kl_in_reward_coef", c.advantage.kl_in_reward_coef},
              {"kl_in_reward_type", kl_name(c.advantage.kl_in_reward_type)}}},
            {"clip_ratio_low", c.clip_eps_low},
            {"clip_ratio_high", c.clip_eps_high},
            {"clip_ratio_c", c.clip_c},
            {"clip", c.clip},
            {"log_ratio_clamp", c.log_ratio_clamp},
            {"gspo_log_ratio_max", c.gspo_log_ratio_max},
            {"cliprange_value", c.value_clip},
            {"kl_loss_type", kl_name(c.kl_type)},
            {"beta", c.beta},
            {"label_smoothing", c.label_smoothing},
            {"loss_type", name_of(kDpoNames, c.dpo_loss)},
            {"simpo_gamma", c.simpo_gamma},
            {"cpo_alpha", c.cpo_alpha},
            {"desirable_weight", c.kto_desirable_weight},
            {"undesirable_weight", c.kto_undesirable_weight},
            {"center_rewards_coefficient", c.rm_center_coef},
            {"luffy_gamma", c.luffy_gamma},
            {"srft_sft_scale", c.srft_sft_scale},
            {"srft_rl_scale", c.srft_rl_scale},
            {"mu_peak", c.mu_peak},
            {"mu_valley", c.mu_valley},
            {"mu_warmup_steps", c.mu_warmup_steps},
            {"mu_decay_steps", c.mu_decay_steps},
            {"loop", c.loop},
            {"source", c.source}};
  return j;
}

}  // namespace tandem::objective
