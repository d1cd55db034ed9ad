// `tandem grpo|ppo|dapo|...`: the online RL run — OnlineStep as an Algorithm of the shared training
// loop (optimizer, schedule, checkpoints, metrics live there): models (policy, frozen reference,
// value head), prompts or given completions, reward functions.
// Reward functions come through a factory so that this layer never names the reward layer's
// implementation (the CLI hands in reward::make_reward; tests hand in their own).
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/json.h"
#include "data/example.h"
#include "reward/reward.h"
#include "train/online_config.h"
#include "train/online_step.h"

namespace tandem::train {

using RewardFactory = std::function<std::unique_ptr<reward::RewardFunction>(const Json& spec, const std::string& where)>;

// Runs the whole job on the shared training loop (train/trainer.h); resolved_config and resolved_yaml
// are what checkpoints and config.yaml record (the resolved objective is appended to the yaml).
int run_online(const OnlineConfig& cfg, const Json& resolved_config, const std::string& resolved_yaml,
               const RewardFactory& make_reward);

// Prompt JSONL: {"input_ids": [...], "demonstration_ids": [...]?, any other columns}; the other columns
// go to the reward functions unchanged. (Text prompts arrive with the data layer's prompt reader.)
std::vector<data::PromptExample> read_prompt_ids(const std::string& path, int64_t vocab);

// Given-completions JSONL: {"input_ids": prompt, "completion_ids": [...], "reward"?: x, "logprobs"?: [...],
// "is_demo"?: bool, other columns}. Consecutive lines of one prompt form a group (a line's "group"
// field, when present, overrides). examples receives one PromptExample per line (pointers stay valid).
std::vector<RolloutSeq> read_given(const std::string& path, int64_t vocab, int64_t group_size,
                                   std::vector<std::unique_ptr<data::PromptExample>>& examples);

}  // namespace tandem::train
