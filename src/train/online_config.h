// The configuration of the online RL commands (`tandem grpo|dr_grpo|dapo|gspo|cispo|rloo|reinforce_pp|
// remax|ppo|luffy|chord|srft|relift|uft|hpt --config run.yaml`), with the key names TRL users know (num_generations,
// max_new_tokens, beta, epsilon, epsilon_high, loss_type, ...) and verl's where TRL has none
// (ppo_epochs, num_mini_batches, dynamic sampling). A value of -1 (or "") means "the preset's
// default": the numbers live once, in objective/presets.cpp, and resolve() folds the user's keys into
// the preset's ObjectiveConfig. One field list drives YAML, overrides, printing and config.yaml.
// Deliberately not here: the loop (online_trainer.cpp) and the step's arithmetic (online_step.cpp).
#pragma once
#include <cstdint>
#include <string>

#include "core/error.h"
#include "core/json.h"
#include "objective/config.h"
#include "train/train_config.h"

namespace tandem::train {

struct OnlineConfig : TrainConfig {
  std::string algorithm = "grpo";  // the objective preset; set by the subcommand
  std::string completions_file;    // given-completions mode: JSONL of sampled sequences instead of generating
  // Step shape. max_steps (TrainConfig) counts optimizer steps, as TRL's does: one rollout batch gives
  // ppo_epochs x num_mini_batches of them. per_device_train_batch_size = sequences per forward/backward.
  int64_t train_batch_size = 16;   // prompts per rollout batch (verl data.train_batch_size)
  int64_t num_generations = -1;    // G samples per prompt (TRL 8; preset loop.samples_per_prompt wins when set)
  int64_t ppo_epochs = -1;         // passes over the rollout batch (preset loop.ppo_epochs, else 1)
  int64_t num_mini_batches = 1;    // optimizer steps per pass
  // Sampling (TRL GRPOConfig names and defaults).
  int64_t max_new_tokens = 256;    // TRL max_completion_length
  double temperature = 1.0, top_p = 1.0, min_p = 0.0, repetition_penalty = 1.0;
  int64_t top_k = 0;
  bool ignore_eos = false;         // keep sampling past the model's eos ids
  // Objective knobs over the preset (-1 / "" = the preset's value).
  double beta = -1;                // KL coefficient (the `kl` term's weight, or the KL-in-reward coefficient)
  std::string ref_model_name_or_path;  // "": the starting model (with LoRA, the policy's base: reference.h)
  double epsilon = -1, epsilon_high = -1;
  std::string loss_type;           // TRL names (grpo, bnpo, dr_grpo, dapo, cispo) or a loss_agg_mode
  Json objective = Json::object(); // full objective overrides (objective/config.h form)
  // Rewards: each entry goes to reward::make_reward; weights as TRL reward_weights (default all 1).
  Json rewards = Json::array();
  Json reward_weights = Json::array();
  double success_threshold = 0.5;  // a sample with total reward > this counts as correct (accuracy, filters)
  // DAPO dynamic sampling and overlong shaping (-1 = the preset's loop settings).
  int dynamic_sampling = -1;       // 1: keep drawing until train_batch_size informative groups, 0: off
  int64_t max_num_gen_batches = -1;
  int64_t overlong_buffer_len = -1;  // L_cache; 0 = off
  double overlong_penalty_factor = 1.0;
  // Hybrids.
  double expert_data_ratio = -1;   // CHORD: share of demonstrations in a step's sequences
  std::string expert_file;         // CHORD: the expert sub-batch's own data ("" = the step's prompts' demonstrations)
  int64_t sft_data_size = -1;      // ReLIFT: buffered all-failed prompts that trigger an SFT step
  int64_t switch_gate = -1;        // HPT: a prompt with at most this many correct samples trains on its demo
  // UFT hints (-1 = the preset's loop.hint): l ~ Binomial(K, p_t) of K = min(hint_segments, #steps)
  // demonstration segments, p_t cosine from hint_p_hi down to hint_p_lo over hint_steps rollout batches.
  double hint_p_lo = -1, hint_p_hi = -1;
  int64_t hint_steps = -1;         // T_hint: rollout batches with hints (none after)
  int64_t hint_segments = -1;      // most segments a demonstration is split into (UFT: 5)
  double sft_loss_coef = -1;       // weight of the NLL term on demonstrations (UFT beta_h 0.001, HPT/ReLIFT 1)
  Json pass_at_k = Json::array();  // k values of the pass@k metrics; [] = 1 and num_generations
  double kv_cache_mb = 1024;
  int64_t max_batch = 64;          // rollout engine: sequences decoded together

  OnlineConfig() {  // the RL references' values where they differ from SFT's (TRL GRPOConfig, verl actor)
    learning_rate = 1e-6;
    lr_scheduler_type = "constant";
    max_steps = 100;
    data.max_prompt_length = 512;
  }

  template <class V> void for_each_field(V&& v) {
    TrainConfig::for_each_field(v);
    v("algorithm", algorithm, "objective preset (set by the subcommand)");
    v("completions_file", completions_file,
      "given-completions mode: JSONL {input_ids, completion_ids[, reward, logprobs, is_demo]} in groups of num_generations");
    v("train_batch_size", train_batch_size, "prompts per rollout batch");
    v("num_generations", num_generations, "samples per prompt G (-1: preset, else 8)");
    v("ppo_epochs", ppo_epochs, "passes over each rollout batch (-1: preset, else 1)");
    v("num_mini_batches", num_mini_batches, "optimizer steps per pass");
    v("max_new_tokens", max_new_tokens, "longest completion");
    v("temperature", temperature, "sampling temperature");
    v("top_p", top_p, "nucleus sampling (1: off)");
    v("top_k", top_k, "top-k sampling (0: off)");
    v("min_p", min_p, "min-p sampling (0: off)");
    v("repetition_penalty", repetition_penalty, "repetition penalty (1: off)");
    v("ignore_eos", ignore_eos, "do not stop at the model's eos ids");
    v("beta", beta, "KL coefficient (-1: preset)");
    v("ref_model_name_or_path", ref_model_name_or_path, "frozen reference model folder (default: the starting model)");
    v("epsilon", epsilon, "lower clip range (-1: preset)");
    v("epsilon_high", epsilon_high, "upper clip range (-1: epsilon, or the preset's)");
    v("loss_type", loss_type, "grpo | bnpo | dr_grpo | dapo | cispo | any loss_agg_mode (\"\": preset)");
    v("objective", objective, "objective overrides: {terms, loss_agg_mode, clip_ratio_c, ...}");
    v("rewards", rewards, "reward functions, e.g. [{type: math}, {type: format, pattern: ...}]");
    v("reward_weights", reward_weights, "one weight per reward function (default all 1)");
    v("success_threshold", success_threshold, "total reward above this counts as a correct sample");
    v("dynamic_sampling", dynamic_sampling, "DAPO group filter: 1 on, 0 off, -1 preset");
    v("max_num_gen_batches", max_num_gen_batches, "DAPO: most generation batches per step (-1: preset, else 10)");
    v("overlong_buffer_len", overlong_buffer_len, "DAPO overlong shaping L_cache (0 off, -1 preset)");
    v("overlong_penalty_factor", overlong_penalty_factor, "DAPO overlong penalty kappa");
    v("expert_data_ratio", expert_data_ratio, "CHORD: demonstrations as a share of the step's sequences (-1: preset)");
    v("expert_file", expert_file,
      "CHORD: JSONL of demonstrations for the expert sub-batch, any prompt shape with a completion or solution "
      "(e.g. an SFT file); empty: the demonstrations of the step's own prompts");
    v("sft_data_size", sft_data_size, "ReLIFT: buffer size that triggers an SFT step on demonstrations (-1: preset)");
    v("switch_gate", switch_gate, "HPT: most correct samples for which a prompt trains on its demonstration (-1: preset)");
    v("hint_p_lo", hint_p_lo, "UFT: hint probability at the end of the schedule (-1: preset, 0.05)");
    v("hint_p_hi", hint_p_hi, "UFT: hint probability at the start (-1: preset, 0.95)");
    v("hint_steps", hint_steps, "UFT: rollout batches with hints, T_hint (-1: preset, 300)");
    v("hint_segments", hint_segments, "UFT: most segments of a demonstration, K = min(this, steps) (-1: preset, 5)");
    v("sft_loss_coef", sft_loss_coef, "weight of the NLL term on demonstrations (-1: preset; uft 0.001, hpt/relift 1)");
    v("pass_at_k", pass_at_k, "k values of the pass@k metrics ([]: 1 and num_generations)");
    v("kv_cache_mb", kv_cache_mb, "rollout KV-cache budget in MiB");
    v("max_batch", max_batch, "rollout: most sequences decoded together");
  }

  void validate() const;
};

// The values the step runs with: the preset folded with the user's keys.
struct ResolvedOnline {
  objective::ObjectiveConfig obj;
  int64_t num_generations = 8;
  int64_t ppo_epochs = 1;
  bool dynamic_sampling = false;
  int64_t max_num_gen_batches = 10;
  int64_t overlong_buffer_len = 0;
  bool demo_in_group = false;      // LUFFY/SRFT: demonstrations replace samples in each group
  int64_t demos_per_group = 0;
  double expert_data_ratio = 0;    // CHORD: a separate expert sub-batch
  int64_t relift_buffer = 0;       // ReLIFT: > 0 = buffer all-failed prompts, SFT step when this many
  int64_t relift_epochs = 1;
  int64_t hpt_gate = -1;           // HPT: >= 0 = per-prompt switch between the group and its demo
  bool hints = false;              // UFT: demonstration prefixes as hints
  double hint_p_lo = 0.05, hint_p_hi = 0.95;
  int64_t hint_steps = 0, hint_segments = 5;
  std::vector<int64_t> pass_at_k;  // k values logged (those no larger than a group's samples)
  bool critic = false;             // a value head on the policy trunk (a `value` term)
  bool needs_ref = false;          // a KL term or KL in the reward
  bool needs_entropy = false;      // entropy / srft terms
};

ResolvedOnline resolve(const OnlineConfig& c);

// The presets the online loop runs, each a `tandem <name>` command, with a one-line summary for its
// help; the one list both the CLI and validation read.
struct OnlineAlgorithmEntry {
  const char* name;
  const char* summary;
};
const std::vector<OnlineAlgorithmEntry>& online_algorithms();
bool is_online_algorithm(const std::string& name);

}  // namespace tandem::train
