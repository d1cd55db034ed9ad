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

const std::vector<OnlineAlgorithmEntry>& online_algorithms() {
  static const std::vector<OnlineAlgorithmEntry> all = {
      {"grpo", "online RL, GRPO: group-normalised advantages, PPO clip, k3 KL to the reference"},
      {"grpo_paper", "online RL, GRPO as the paper writes it: mean over tokens then sequences, k3 KL 0.04"},
      {"dr_grpo", "online RL, Dr. GRPO: group-mean advantages, constant normaliser, no KL"},
      {"dapo", "online RL, DAPO: clip-higher, token-mean, dynamic sampling, overlong shaping"},
      {"gspo", "online RL, GSPO: sequence-level importance ratio and clipping"},
      {"cispo", "online RL, CISPO: clipped importance weights as coefficients"},
      {"rloo", "online RL, RLOO: leave-one-out baseline"},
      {"reinforce_pp", "online RL, REINFORCE++: batch-whitened returns, KL in the reward"},
      {"reinforce_pp_baseline", "online RL, REINFORCE++-baseline: group-mean baseline, batch whitening, k2 KL"},
      {"remax", "online RL, ReMax: greedy-decode baseline"},
      {"ppo", "online RL, PPO: GAE with a value head on the policy trunk"},
      {"luffy", "online RL + demonstrations in each group with probability shaping (LUFFY)"},
      {"chord", "online RL + an expert SFT sub-batch weighted by mu and phi (CHORD)"},
      {"chord_mu", "online RL + an expert NLL sub-batch whose weight mu decays from peak to valley (CHORD-mu)"},
      {"srft", "online RL + demonstrations in each group with entropy-aware SFT and RL weights (SRFT)"},
      {"relift", "online RL + SFT on demonstrations of prompts every sample failed, when the buffer fills (ReLIFT)"},
      {"uft", "online RL on completions of demonstration prefixes (hints) that anneal away, NLL on the hints (UFT)"},
      {"hpt", "online RL, per prompt switched to SFT on its demonstration when no sample succeeds (HPT)"},
  };
  return all;
}

bool is_online_algorithm(const std::string& name) {
  for (const OnlineAlgorithmEntry& a : online_algorithms())
    if (name == a.name) return true;
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
  need(hint_p_lo == -1 || (hint_p_lo >= 0 && hint_p_lo <= 1), "hint_p_lo", cat("must be in [0, 1] (or -1: preset), got ", hint_p_lo));
  need(hint_p_hi == -1 || (hint_p_hi >= 0 && hint_p_hi <= 1), "hint_p_hi", cat("must be in [0, 1] (or -1: preset), got ", hint_p_hi));
  need(hint_steps >= -1, "hint_steps", cat("must be >= 0 (or -1: preset), got ", hint_steps));
  need(sft_loss_coef == -1 || sft_loss_coef >= 0, "sft_loss_coef", cat("must be >= 0 (or -1: preset), got ", sft_loss_coef));
  need(hint_segments == -1 || hint_segments > 0, "hint_segments", cat("must be > 0 (or -1: preset), got ", hint_segments));
  need(pass_at_k.is_array(), "pass_at_k", cat("expected a list of k values, got ", pass_at_k.dump()));
  for (const Json& k : pass_at_k)
    need(k.is_number_integer() && k.get<int64_t>() > 0, "pass_at_k", cat("expected positive integers, got ", k.dump()));
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
  if (c.sft_loss_coef >= 0) {  // UFT's sft_loss_coef (beta_h), HPT's and ReLIFT's NLL on demonstrations
    bool found = false;
    for (auto& t : o.terms)
      if (t.type == TermType::kSft && t.subset == objective::Subset::kDemo) t.weight = c.sft_loss_coef, found = true;
    if (!found)
      throw Error("sft_loss_coef", cat("algorithm '", c.algorithm, "' has no NLL term on demonstrations to weigh; ",
                                       "expected uft, relift, hpt or chord_mu (or an objective with {type: sft, on: demo})"));
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
  if (loop.contains("hint")) {
    r.hints = true;
    r.hint_p_lo = c.hint_p_lo >= 0 ? c.hint_p_lo : loop_value<double>(loop, "hint", "p_lo", 0.05);
    r.hint_p_hi = c.hint_p_hi >= 0 ? c.hint_p_hi : loop_value<double>(loop, "hint", "p_hi", 0.95);
    r.hint_steps = c.hint_steps >= 0 ? c.hint_steps : loop_value<int64_t>(loop, "hint", "t_hint", 300);
    r.hint_segments = c.hint_segments > 0 ? c.hint_segments : loop_value<int64_t>(loop, "hint", "segments", 5);
  }
  if (r.hints && r.dynamic_sampling)
    throw Error("dynamic_sampling", "UFT's hinted groups are not filtered by success; expected 0 with algorithm uft, got 1");
  for (const Json& k : c.pass_at_k) r.pass_at_k.push_back(k.get<int64_t>());
  if (r.pass_at_k.empty()) {
    r.pass_at_k.push_back(1);
    if (r.num_generations - r.demos_per_group > 1) r.pass_at_k.push_back(r.num_generations - r.demos_per_group);
  }
  if (!c.expert_file.empty() && r.expert_data_ratio <= 0)
    throw Error("expert_file", cat("feeds CHORD's expert sub-batch; algorithm '", c.algorithm,
                                   "' has none (expected expert_data_ratio > 0, e.g. tandem chord)"));
  if (r.demos_per_group >= r.num_generations)
    throw Error("num_generations", cat("must exceed the demonstrations per group (", r.demos_per_group, "), got ", r.num_generations));
  r.critic = has_term(o, TermType::kValue);
  r.needs_ref = has_term(o, TermType::kKl) || o.advantage.kl_in_reward_coef > 0;
  r.needs_entropy = has_term(o, TermType::kEntropy) || has_term(o, TermType::kSrft);
  return r;
}

}  // namespace tandem::train
