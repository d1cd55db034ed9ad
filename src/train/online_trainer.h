// `tandem grpo|ppo|dapo|...`: the online RL run — OnlineStep as an Algorithm of the shared training
// loop (optimizer, schedule, checkpoints, metrics live there): models (policy, frozen reference,
// value head), prompts (through the data layer) or given completions, reward functions, held-out
// evaluation, and exact resume (also inside a rollout batch).
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

// Prompts come through the data layer (data::Dataset and data::PromptStream, docs/data.md): `prompt` as
// text or messages (the model folder's chat template, generation prompt added), prompt_input_ids or
// input_ids, with a demonstration from completion / solution / completion_input_ids / demonstration_ids;
// every other column reaches the reward functions unchanged.

// Given-completions JSONL: {"input_ids": prompt, "completion_ids": [...], "reward"?: x, "logprobs"?: [...],
// "is_demo"?: bool, other columns}. Consecutive lines of one prompt form a group (a line's "group"
// field, when present, overrides); each line carries its own PromptExample.
std::vector<RolloutSeq> read_given(const std::string& path, int64_t vocab, int64_t group_size);

}  // namespace tandem::train
