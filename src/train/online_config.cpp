// OnlineConfig::validate and resolve(): the preset's ObjectiveConfig with the TRL-style keys folded in.
#include "train/online_config.h"

#include <algorithm>

#include "objective/presets.h"

namespace tandem::train {

namespace {

void need(bool ok, const char* key, const std::string& what) {
  if (!ok) throw Error(key, what);
}

bool has_term(const objective::ObjectiveConfig& c, objective::TermType t) {
  return std::any_of(c.terms.begin(), c.terms.end(), [&](const auto& s) { return s.type == t; });
}

// A loop fact of the preset: loop[key] (or loop[key][sub]) when present, else fallback.
template <class T> T loop_value(const Json& loop, const char* key, const char* sub, T fallback) {
  if (!loop.is_object() || !loop.contains(key)) return fallback;
  const Json& v = sub ? loop[key] : loop;
  const char* k = sub ? sub : key;
  if (!v.is_object() || !v.contains(k)) return fallback;
  return v[k].get<T>();
}

}  // namespace

bool is_online_algorithm(const std::string& name) {
  for (const char* a : {"grpo", "grpo_paper", "dr_grpo", "dapo", "gspo", "cispo", "rloo", "reinforce_pp",
                        "reinforce_pp_baseline", "remax", "ppo", "luffy", "chord", "chord_mu", "srft", "relift", "hpt"})
    if (name == a) return true;
  return false;
}

void OnlineConfig::validate() const {
  need(is_online_algorithm(algorithm), "algorithm", cat("'", algorithm, "' is not an online RL algorithm"));
  if (data.train_file.empty() && !completions_file.empty()) {  // given completions stand in for the prompts
    TrainConfig t = *this;
    t.data.train_file = completions_file;
    t.validate();
  } else {
    TrainConfig::validate();
  }
  need(max_steps > 0, "max_steps", cat("online RL needs max_steps (optimizer steps) > 0, got ", max_steps));
  need(train_batch_size > 0, "train_batch_size", cat("must be > 0, got ", train_batch_size));
  need(num_generations == -1 || num_generations > 0, "num_generations", cat("must be > 0, got ", num_generations));
  need(ppo_epochs == -1 || ppo_epochs > 0, "ppo_epochs", cat("must be > 0, got ", ppo_epochs));
  need(num_mini_batches > 0, "num_mini_batches", cat("must be > 0, got ", num_mini_batches));
  need(max_new_tokens > 0, "max_new_tokens", cat("must be > 0, got ", max_new_tokens));
  need(temperature >= 0, "temperature", cat("must be >= 0, got ", temperature));
  need(top_p > 0 && top_p <= 1, "top_p", cat("must be in (0, 1], got ", top_p));
  need(beta == -1 || beta >= 0, "beta", cat("must be >= 0 (or -1: preset), got ", beta));
  need(epsilon == -1 || epsilon >= 0, "epsilon", cat("must be >= 0, got ", epsilon));
  need(epsilon_high == -1 || epsilon_high >= 0, "epsilon_high", cat("must be >= 0, got ", epsilon_high));
  need(rewards.is_array(), "rewards", "expected a list of reward functions");
  need(reward_weights.is_array() && (reward_weights.empty() || reward_weights.size() == rewards.size()),
       "reward_weights", cat("expected one weight per reward function (", rewards.size(), "), got ", reward_weights.dump()));
  for (const Json& w : reward_weights) need(w.is_number(), "reward_weights", cat("expected numbers, got ", w.dump()));
  need(objective.is_object(), "objective", "expected a mapping");
  need(dynamic_sampling >= -1 && dynamic_sampling <= 1, "dynamic_sampling", "expected 1, 0 or -1 (preset)");
  need(kv_cache_mb > 0, "kv_cache_mb", "must be > 0");
  need(max_batch > 0, "max_batch", "must be > 0");
  need(expert_data_ratio == -1 || (expert_data_ratio >= 0 && expert_data_ratio < 1), "expert_data_ratio",
       "must be in [0, 1) (or -1: preset)");
}

ResolvedOnline resolve(const OnlineConfig& c) {
  using objective::TermType;
  ResolvedOnline r;
  Json oj = c.objective;
  if (!oj.contains("preset") && !oj.contains("terms")) oj["preset"] = c.algorithm;
  r.obj = objective::objective_from_json(oj, "objective", "config");
  auto& o = r.obj;
  if (c.epsilon >= 0) o.clip_eps_low = o.clip_eps_high = c.epsilon;
  if (c.epsilon_high >= 0) o.clip_eps_high = c.epsilon_high;
  if (!c.loss_type.empty()) {
    const std::string& t = c.loss_type;
    if (t == "grpo") o.agg = objective::AggMode::kSeqMeanTokenMean;
    else if (t == "bnpo" || t == "dapo" || t == "cispo") o.agg = objective::AggMode::kTokenMean;
    else if (t == "dr_grpo") o.agg = objective::AggMode::kSeqMeanTokenSumNorm, o.agg_norm = double(c.max_new_tokens);
    else o.agg = objective::parse_agg(t, "loss_type");
  }
  if (c.beta >= 0) {
    auto it = std::find_if(o.terms.begin(), o.terms.end(), [](const auto& s) { return s.type == TermType::kKl; });
    if (it != o.terms.end()) {
      if (c.beta == 0) o.terms.erase(it);
      else it->weight = c.beta;
    } else if (o.advantage.kl_in_reward_coef > 0) {
      o.advantage.kl_in_reward_coef = c.beta;
    } else if (c.beta > 0) {
      objective::TermSpec kl;
      kl.type = TermType::kKl;
      kl.weight = c.beta;
      o.terms.push_back(kl);
    }
  }
  o.validate();
  const Json& loop = o.loop;
  r.num_generations = c.num_generations > 0 ? c.num_generations : loop_value<int64_t>(loop, "samples_per_prompt", nullptr, 8);
  r.ppo_epochs = c.ppo_epochs > 0 ? c.ppo_epochs : loop_value<int64_t>(loop, "ppo_epochs", nullptr, 1);
  r.dynamic_sampling = c.dynamic_sampling >= 0 ? c.dynamic_sampling == 1 : loop_value<bool>(loop, "filter_groups", "enable", false);
  r.max_num_gen_batches = c.max_num_gen_batches > 0 ? c.max_num_gen_batches
                                                    : loop_value<int64_t>(loop, "filter_groups", "max_num_gen_batches", 10);
  if (c.overlong_buffer_len >= 0) {
    r.overlong_buffer_len = c.overlong_buffer_len;
  } else if (loop_value<bool>(loop, "overlong_buffer", "enable", false)) {
    // The DAPO recipe's 4096 of 20480 tokens; kept only when it fits inside max_new_tokens.
    const int64_t len = loop_value<int64_t>(loop, "overlong_buffer", "len", 0);
    r.overlong_buffer_len = len < c.max_new_tokens ? len : 0;
  }
  if (r.overlong_buffer_len >= c.max_new_tokens)
    throw Error("overlong_buffer_len", cat("must be < max_new_tokens (", c.max_new_tokens, "), got ", r.overlong_buffer_len));
  r.demo_in_group = loop_value<bool>(loop, "demo_in_group", nullptr, false);
  r.demos_per_group = r.demo_in_group ? loop_value<int64_t>(loop, "demos_per_group", nullptr, 1) : 0;
  r.expert_data_ratio = c.expert_data_ratio >= 0 ? c.expert_data_ratio : loop_value<double>(loop, "expert_data_ratio", nullptr, 0.0);
  if (loop.contains("sft_data_size")) {
    r.relift_buffer = c.sft_data_size > 0 ? c.sft_data_size : loop_value<int64_t>(loop, "sft_data_size", nullptr, 128);
    r.relift_epochs = loop_value<int64_t>(loop, "sft_epochs", nullptr, 1);
  }
  if (loop.contains("switch_gate")) r.hpt_gate = c.switch_gate >= 0 ? c.switch_gate : loop_value<int64_t>(loop, "switch_gate", nullptr, 0);
  if (r.demos_per_group >= r.num_generations)
    throw Error("num_generations", cat("must exceed the demonstrations per group (", r.demos_per_group, "), got ", r.num_generations));
  r.critic = has_term(o, TermType::kValue);
  r.needs_ref = has_term(o, TermType::kKl) || o.advantage.kl_in_reward_coef > 0;
  r.needs_entropy = has_term(o, TermType::kEntropy) || has_term(o, TermType::kSrft);
  return r;
}

}  // namespace tandem::train
