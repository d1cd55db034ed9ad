// `tandem pipeline --config run.yaml`: several training stages in one config, each starting from the
// weights the previous one wrote (SFT then GRPO, as the R1-style recipes do):
//   model_name_or_path: base/          # the first stage's start
//   output_dir: runs/sft-then-grpo     # stage k writes output_dir/stage-k-<command>
//   stages:
//     - sft:  {train_file: sft.jsonl, max_steps: 100, learning_rate: 1.0e-4}
//     - grpo: {train_file: prompts.jsonl, rewards: [{type: math}], max_steps: 50}
// A stage's keys are exactly those of its command (`tandem sft`, `tandem grpo`, ...); it may set its own
// model_name_or_path only in the first stage. Deliberately not here: interleaving inside a stage
// (ReLIFT/HPT are algorithms of the online loop).
#include <yaml-cpp/yaml.h>

#include <cstdio>

#include "cli/command.h"
#include "core/file.h"
#include "reward/reward.h"
#include "train/config_fields.h"
#include "train/online_trainer.h"
#include "train/sft_trainer.h"

namespace tandem::cli {
namespace {

struct Opts {
  std::string config;
};

struct Resolved {
  Json json;
  std::string yaml;
};

template <class Cfg>
Resolved configure(Cfg& cfg, const YAML::Node& keys, const std::string& origin, const std::string& model, const std::string& out,
               bool first) {
  auto fields = train::fields_of(cfg);
  if (keys && !keys.IsNull()) {
    if (!keys.IsMap()) throw Error(origin, "expected a mapping of the command's keys");
    if (keys["output_dir"]) throw Error(origin + ".output_dir", "is set by the pipeline (output_dir/stage-k-<command>)");
    if (keys["model_name_or_path"] && !first)
      throw Error(origin + ".model_name_or_path", "only the first stage chooses its start; later stages start from the previous one");
    train::apply_yaml(fields, keys, origin);
  }
  if (!keys || !keys["model_name_or_path"]) train::apply_override(fields, "model_name_or_path=" + model, origin);
  train::apply_override(fields, "output_dir=" + out, origin);
  cfg.validate();
  Resolved r{train::fields_to_json(fields), train::fields_to_yaml(fields)};
  std::fprintf(stderr, "tandem pipeline: %s\n%s", origin.c_str(), r.yaml.c_str());
  return r;
}

int run(const Opts& o) {
  const YAML::Node root = YAML::LoadFile(o.config);
  for (auto it = root.begin(); it != root.end(); ++it) {
    const std::string k = it->first.as<std::string>();
    if (k != "model_name_or_path" && k != "output_dir" && k != "stages")
      throw Error(cat("pipeline.", k), cat("unknown key; expected model_name_or_path, output_dir or stages (", o.config, ")"));
  }
  if (!root["output_dir"]) throw Error("pipeline.output_dir", "required");
  if (!root["stages"] || !root["stages"].IsSequence() || root["stages"].size() == 0)
    throw Error("pipeline.stages", "expected a list of {command: {keys}}, got none");
  std::string model = root["model_name_or_path"] ? root["model_name_or_path"].as<std::string>() : "";
  const std::string out_root = root["output_dir"].as<std::string>();
  const YAML::Node stages = root["stages"];
  for (size_t i = 0; i < stages.size(); ++i) {
    const std::string where = cat("pipeline.stages[", i, "]");
    if (!stages[i].IsMap() || stages[i].size() != 1) throw Error(where, "expected one {command: {keys}} entry");
    const std::string cmd = stages[i].begin()->first.as<std::string>();
    const YAML::Node keys = stages[i].begin()->second;
    const std::string out = join_path(out_root, cat("stage-", i + 1, "-", cmd));
    const std::string origin = cat(where, ".", cmd);
    if (model.empty() && !(keys && keys.IsMap() && keys["model_name_or_path"]))
      throw Error("pipeline.model_name_or_path", "required (top level or in the first stage)");
    int rc = 0;
    if (cmd == "sft") {
      train::SftConfig cfg;
      const Resolved r = configure(cfg, keys, origin, model, out, i == 0);
      rc = train::run_sft(cfg, r.json, r.yaml);
    } else if (train::is_online_algorithm(cmd)) {
      train::OnlineConfig cfg;
      cfg.algorithm = cmd;
      const Resolved r = configure(cfg, keys, origin, model, out, i == 0);
      if (cfg.algorithm != cmd) throw Error(origin + ".algorithm", "is set by the stage's command");
      rc = train::run_online(cfg, r.json, r.yaml, reward::make_reward);
    } else {
      throw Error(where, cat("unknown stage command '", cmd, "'; expected sft or an online RL command (grpo, ppo, dapo, ...)"));
    }
    if (rc != 0) return rc;
    if (!file_exists(join_path(out, "model.safetensors")))  // stopped early (signal): the next stage has no start
      throw Error(where, cat("stage ended without a final model in ", out, "; resume it before the next stage"));
    model = out;
  }
  return 0;
}

Registrar reg({"pipeline", "run training stages in sequence (e.g. sft then grpo), each from the last one's weights",
               [](CLI::App& sub) {
                 auto o = std::make_shared<Opts>();
                 sub.add_option("--config", o->config, "YAML with model_name_or_path, output_dir and stages")->required();
                 return std::function<int()>([o] { return run(*o); });
               }});

}  // namespace
}  // namespace tandem::cli
