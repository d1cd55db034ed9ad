// `tandem <algorithm> --config run.yaml [key=value ...]` for every algorithm of
// train::online_algorithms() (grpo, dapo, ppo, luffy, chord, ...): online RL with the objective preset of
// the same name (train/online_trainer.h). They differ only in the preset the config starts from.
#include <cstdio>

#include "cli/command.h"
#include "reward/reward.h"
#include "train/config_fields.h"
#include "train/online_trainer.h"

namespace tandem::cli {
namespace {

struct Opts {
  std::string algorithm, config;
  std::vector<std::string> overrides;
};

int run(const Opts& o) {
  train::OnlineConfig cfg;
  cfg.algorithm = o.algorithm;
  const train::ResolvedConfig r = train::load_run_config(cfg, o.config, o.overrides);
  if (cfg.algorithm != o.algorithm)
    throw Error("algorithm", cat("is set by the command (", o.algorithm, "), got '", cfg.algorithm,
                                 "'; run `tandem ", cfg.algorithm, "` instead"));
  std::fprintf(stderr, "tandem %s: resolved config\n%s", o.algorithm.c_str(), r.yaml.c_str());
  return train::run_online(cfg, r.json, r.yaml, reward::make_reward);
}

// One Registrar per algorithm, made at static initialisation like every other command.
const std::vector<Registrar> regs = [] {
  std::vector<Registrar> v;
  for (const train::OnlineAlgorithmEntry& a : train::online_algorithms()) {
    const std::string name = a.name;
    v.emplace_back(Command{a.name, a.summary, [name](CLI::App& sub) {
                             auto o = std::make_shared<Opts>();
                             o->algorithm = name;
                             sub.add_option("--config", o->config, "YAML run config");
                             sub.add_option("overrides", o->overrides, "key=value overrides, e.g. num_generations=8");
                             return std::function<int()>([o] { return run(*o); });
                           }});
  }
  return v;
}();

}  // namespace
}  // namespace tandem::cli
