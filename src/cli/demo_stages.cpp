// The demo's stage configs and their runs (see demo_stages.h).
#include "cli/demo_stages.h"

#include <filesystem>

#include "core/error.h"
#include "core/file.h"
#include "reward/reward.h"
#include "train/config_fields.h"
#include "train/online_trainer.h"
#include "train/sft_trainer.h"

namespace tandem::cli {

namespace {

// A YAML config written line by line, each key with the reason it has its value.
class ConfigText {
 public:
  explicit ConfigText(const std::string& header) {
    for (size_t a = 0, b; a < header.size(); a = b + 1) {
      b = header.find('\n', a);
      if (b == std::string::npos) b = header.size();
      text_ += "# " + header.substr(a, b - a) + "\n";
    }
    text_ += "\n";
  }
  ConfigText& key(const std::string& k, const std::string& value, const std::string& why = "") {
    std::string line = k + ": " + value;
    if (!why.empty()) line += std::string(line.size() < 44 ? 44 - line.size() : 1, ' ') + "# " + why;
    text_ += line + "\n";
    return *this;
  }
  ConfigText& key(const std::string& k, int64_t value, const std::string& why = "") { return key(k, std::to_string(value), why); }
  ConfigText& key(const std::string& k, double value, const std::string& why = "") { return key(k, cat(value), why); }
  ConfigText& blank() {
    text_ += "\n";
    return *this;
  }
  void write(const std::string& path) const { write_file_atomic(path, text_); }

 private:
  std::string text_;
};

std::string quoted(const std::string& s) { return "\"" + s + "\""; }

// Checkpoints at curve_points evenly spaced steps (the last one is the final model's).
int64_t save_every(int64_t steps, int64_t points) { return std::max<int64_t>(1, steps / std::max<int64_t>(1, points)); }

}  // namespace

DemoPaths DemoPaths::under(const std::string& out_dir) {
  namespace fs = std::filesystem;
  DemoPaths p;
  p.out = fs::absolute(out_dir).lexically_normal().string();
  if (p.out.size() > 1 && p.out.back() == '/') p.out.pop_back();
  p.data = join_path(p.out, "data");
  p.models = join_path(p.out, "models");
  p.runs = join_path(p.out, "runs");
  p.configs = join_path(p.out, "configs");
  p.charts = join_path(p.out, "charts");
  p.base_model = join_path(p.models, "base");
  p.sft_data = join_path(p.data, "sft.jsonl");
  p.rl_prompts = join_path(p.data, "rl_prompts.jsonl");
  p.eval_in = join_path(p.data, "eval_in.jsonl");
  p.eval_ood = join_path(p.data, "eval_ood.jsonl");
  return p;
}

std::vector<DemoStage> write_demo_stages(const DemoPlan& plan, const DemoPaths& paths, uint64_t seed) {
  make_directories(paths.configs);
  std::vector<DemoStage> stages;
  auto stage = [&](const std::string& key, const std::string& command, const std::string& label, const std::string& summary,
                   const std::string& start, int64_t steps) {
    DemoStage s{key, command, label, summary, start, join_path(paths.configs, key + ".yaml"), join_path(paths.runs, key),
                steps, save_every(steps, plan.curve_points)};
    stages.push_back(s);
    return s;
  };
  const std::string rerun = "Rerun or edit it: tandem ";

  // 1. SFT: the demonstrations, loss on the worked solution only.
  const DemoStage sft = stage("1-sft", "sft", "SFT", cat("SFT on ", plan.task.demonstrations, " worked solutions"),
                              paths.base_model, plan.sft_steps);
  ConfigText(cat("tandem demo, stage 1 of 3: supervised fine-tuning of the random base model on ", plan.task.demonstrations,
                 "\nworked solutions of additions. ", rerun, "sft --config ", sft.config))
      .key("model_name_or_path", quoted(sft.start), "the random Qwen3-shaped base model")
      .key("train_file", quoted(paths.sft_data), "{prompt: [user message], completion: [assistant message]}")
      .key("output_dir", quoted(sft.run_dir))
      .key("max_steps", sft.steps)
      .key("per_device_train_batch_size", plan.sft_batch)
      .key("learning_rate", plan.sft_lr, "a model this small trains fast from scratch")
      .key("lr_scheduler_type", plan.sft_schedule)
      .key("warmup_steps", std::max<int64_t>(1, sft.steps / 20))
      .key("max_length", int64_t(128), "the longest demonstration is about 80 tokens")
      .key("completion_only_loss", "true", "the loss is on the solution, not on the question")
      .key("save_steps", sft.save_steps, "checkpoints the report evaluates for its accuracy curve")
      .key("logging_steps", std::max<int64_t>(1, sft.steps / 100))
      .key("seed", int64_t(seed))
      .write(sft.config);

  // 2. GRPO from the SFT model: prompts and answers only, the verifiable math reward.
  const DemoStage grpo = stage("2-grpo", "grpo", "SFT then GRPO",
                               cat("GRPO from the SFT model on ", plan.task.rl_prompts, " prompts without solutions"),
                               sft.run_dir, plan.rl_steps);
  auto rl_keys = [&](ConfigText& c, const DemoStage& s, const std::string& prompts, int64_t prompts_per_step,
                     double lr) -> ConfigText& {
    return c.key("model_name_or_path", quoted(s.start))
        .key("train_file", quoted(prompts), "{prompt: [user message], answer}: the chat template renders it")
        .key("output_dir", quoted(s.run_dir))
        .key("max_steps", s.steps)
        .key("train_batch_size", prompts_per_step, "prompts per step")
        .key("num_generations", plan.rl_generations, "samples per prompt: the group of GRPO")
        .key("max_new_tokens", plan.max_new_tokens)
        .key("temperature", 1.0)
        .key("learning_rate", lr)
        .key("rewards", "[{type: math}]", "1 when the last number of the answer is the sum, else 0")
        .key("save_steps", s.save_steps, "checkpoints the report evaluates for its accuracy curve")
        .key("logging_steps", int64_t(1))
        .key("seed", int64_t(seed));
  };
  ConfigText c2(cat("tandem demo, stage 2 of 3: GRPO from the SFT model of stage 1, on ", plan.task.rl_prompts,
                    " addition prompts\nwith their answers but no solutions; the reward checks the final number. ", rerun,
                    "grpo --config ", grpo.config));
  rl_keys(c2, grpo, paths.rl_prompts, plan.rl_prompts_per_step, plan.rl_lr).write(grpo.config);

  // 3. The hybrid from the base model, on the same data as stages 1 and 2 together: GRPO on the RL
  // prompts plus an SFT term on the demonstrations (CHORD's expert sub-batch) weighted by mu.
  const DemoStage hybrid = stage(cat("3-", plan.hybrid), plan.hybrid, "Hybrid (CHORD)",
                                 cat("CHORD from the base model: (1-mu) GRPO on the ", plan.task.rl_prompts, " prompts + mu SFT on the ",
                                     plan.task.demonstrations, " demonstrations, mu ", plan.hybrid_mu),
                                 paths.base_model, plan.hybrid_steps);
  ConfigText c3(cat("tandem demo, stage 3 of 3: a single-stage hybrid from the random base model, on the data of stages\n"
                    "1 and 2 together. Each step samples ", plan.rl_generations, " answers to each of ",
                    plan.hybrid_prompts_per_step, " RL prompts (GRPO on the math reward, weight 1-mu)\n"
                    "and trains on as many demonstrations again (the expert sub-batch, NLL with weight mu): CHORD with a\n"
                    "constant mu. ",
                    rerun, plan.hybrid, " --config ", hybrid.config));
  rl_keys(c3, hybrid, paths.rl_prompts, plan.hybrid_prompts_per_step, plan.hybrid_lr)
      .key("warmup_steps", std::max<int64_t>(1, hybrid.steps / 20))
      .key("expert_file", quoted(paths.sft_data), "the demonstrations of stage 1, as they are")
      .key("expert_data_ratio", plan.hybrid_expert_ratio, "demonstrations as a share of each step's sequences")
      .key("objective", cat("{mu_peak: ", plan.hybrid_mu, ", mu_valley: ", plan.hybrid_mu, "}"),
           "constant mu: a falling mu starves a random model (docs/demo.md)")
      .write(hybrid.config);
  return stages;
}

bool run_demo_stage(const DemoStage& stage) {
  // A leftover final model from an earlier attempt must not pass for this run's.
  std::filesystem::remove_all(stage.run_dir);
  int rc = 0;
  if (stage.command == "sft") {
    train::SftConfig cfg;
    const train::ResolvedConfig r = train::load_run_config(cfg, stage.config);
    rc = train::run_sft(cfg, r.json, r.yaml);
  } else {
    train::OnlineConfig cfg;
    cfg.algorithm = stage.command;
    const train::ResolvedConfig r = train::load_run_config(cfg, stage.config);
    rc = train::run_online(cfg, r.json, r.yaml, reward::make_reward);
  }
  if (rc != 0) throw Error(cat("demo.", stage.key), cat("tandem ", stage.command, " exited with ", rc));
  // The final model is written only after the last step; a signal stops the run before that.
  return file_exists(join_path(stage.run_dir, "model.safetensors"));
}

}  // namespace tandem::cli
