// `tandem grpo|dr_grpo|dapo|gspo|cispo|rloo|reinforce_pp|remax|ppo|luffy|chord|srft|relift|uft|hpt --config run.yaml
// [key=value ...]`: online RL with the objective preset of the same name (train/online_trainer.h).
// One file registers every algorithm: they differ only in the preset the config starts from.
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

struct Algo {
  const char* name;
  const char* help;
};
constexpr Algo kAlgos[] = {
    {"grpo", "online RL, GRPO: group-normalised advantages, PPO clip, k3 KL to the reference"},
    {"dr_grpo", "online RL, Dr. GRPO: group-mean advantages, constant normaliser, no KL"},
    {"dapo", "online RL, DAPO: clip-higher, token-mean, dynamic sampling, overlong shaping"},
    {"gspo", "online RL, GSPO: sequence-level importance ratio and clipping"},
    {"cispo", "online RL, CISPO: clipped importance weights as coefficients"},
    {"rloo", "online RL, RLOO: leave-one-out baseline"},
    {"reinforce_pp", "online RL, REINFORCE++: batch-whitened returns, KL in the reward"},
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

// One Registrar per algorithm, made at static initialisation like every other command.
const std::vector<Registrar> regs = [] {
  std::vector<Registrar> v;
  for (const Algo& a : kAlgos) {
    const std::string name = a.name;
    v.emplace_back(Command{a.name, a.help, [name](CLI::App& sub) {
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
