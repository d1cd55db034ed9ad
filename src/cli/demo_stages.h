// The demo's training stages as ordinary run configs: each stage is a commented YAML file under
// OUT/configs/ that `tandem <command> --config FILE` runs unchanged, and the demo runs it through the
// same loader and trainer as that command, so what the report shows is what the file does.
// Not here: the plan's numbers (demo_plan.h), evaluation and the report.
#pragma once
#include <string>
#include <vector>

#include "cli/demo_plan.h"

namespace tandem::cli {

// Where the demo keeps its files (absolute paths, so a config runs from any directory).
struct DemoPaths {
  std::string out, data, models, runs, configs, charts;
  std::string base_model;       // models/base: the random model with the tokenizer
  std::string sft_data;         // data/sft.jsonl: the demonstrations, conversational prompt/completion
  std::string rl_prompts;       // data/rl_prompts.jsonl: {prompt: [user message], answer}
  std::string eval_in, eval_ood;  // data/eval_*.jsonl: held-out problems {question, answer}
  static DemoPaths under(const std::string& out_dir);
};

struct DemoStage {
  std::string key;      // "1-sft": the config's and the run folder's name
  std::string command;  // the tandem subcommand: sft, grpo, chord, ...
  std::string label;    // the model it produces, as the report names it: "SFT", "SFT then GRPO", ...
  std::string summary;  // one line: what it trains on
  std::string start;    // the model folder it starts from
  std::string config;   // OUT/configs/<key>.yaml
  std::string run_dir;  // OUT/runs/<key>: metrics, checkpoints and the final HF model
  int64_t steps = 0, save_steps = 0;
};

// The three stages of plan, with their configs written to paths.configs.
std::vector<DemoStage> write_demo_stages(const DemoPlan& plan, const DemoPaths& paths, uint64_t seed);

// Runs a stage exactly as `tandem <command> --config <config>` would. Returns false when the run
// stopped before its last step (SIGINT/SIGTERM: the trainer saved a checkpoint and returned).
bool run_demo_stage(const DemoStage& stage);

}  // namespace tandem::cli
