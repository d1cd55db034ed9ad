// `tandem dpo | ipo | simpo | orpo | kto | cpo | rm --config run.yaml [key=value ...]`: the
// preference trainers (train/pref_trainer.h), one subcommand per objective preset, sharing one
// runner: config (shared training keys + the command's TRL keys), policy and reference models,
// the data splits, then the shared training loop.
#include "cli/command.h"
#include "train/config_fields.h"
#include "train/pref_trainer.h"
#include "train/reference.h"
#include "train/reward_model.h"

namespace tandem::cli {
namespace {

struct Opts {
  std::string algorithm, config;
  std::vector<std::string> overrides;
};

int run(const Opts& o) {
  train::PrefTrainConfig cfg(o.algorithm);
  const train::ResolvedConfig r = train::load_run_config(cfg, o.config, o.overrides);
  const auto obj = cfg.pref.objective();  // validates the preference keys before any model is loaded
  const Json& resolved = r.json;
  const std::string& yaml = r.yaml;
  std::fprintf(stderr, "tandem %s: resolved config\n%s", o.algorithm.c_str(), yaml.c_str());

  std::unique_ptr<model::Decoder> policy;
  train::Reference ref;
  if (train::objective_is_reward_model(obj)) {
    policy = train::load_reward_model(cfg.model_name_or_path, uint64_t(cfg.seed));
  } else {
    policy = model::Decoder::load(cfg.model_name_or_path);
    if (policy->config().sequence_classification)
      throw Error("model_name_or_path", cat("'", cfg.model_name_or_path, "' is a reward model (",
                                            policy->config().architecture, "); ", o.algorithm, " trains a causal LM"));
    if (train::objective_needs_ref(obj)) ref = train::make_reference(cfg, *policy, cfg.pref.ref_model_name_or_path);
  }
  train::apply_compute_dtype(cfg, *policy);
  if (ref.owned) train::apply_compute_dtype(cfg, *ref.owned);  // the reference's log-probs in the policy's precision
  auto splits = train::load_preference_splits(cfg, train::objective_is_unpaired(obj));
  train::PreferenceAlgorithm algo(cfg, *policy, std::move(ref), std::move(splits.train), std::move(splits.eval));
  return train::run_training(cfg, resolved, yaml, *policy, algo);
}

const char* kHelp[][2] = {
    {"dpo", "Direct Preference Optimization (sigmoid, hinge or ipo loss) against a frozen reference"},
    {"ipo", "Identity Preference Optimization (DPO with the squared ipo loss)"},
    {"simpo", "SimPO: reference-free, length-normalised DPO with a target margin"},
    {"orpo", "ORPO: NLL on chosen plus an odds-ratio penalty, no reference"},
    {"kto", "KTO on unpaired desirable/undesirable examples against a frozen reference"},
    {"cpo", "CPO: reference-free sigmoid preference loss plus NLL on chosen"},
    {"rm", "Bradley-Terry reward model (a scalar head), saved as *ForSequenceClassification"},
};

Command make(const char* name, const char* help) {
  return {name, help, [name](CLI::App& sub) {
            auto o = std::make_shared<Opts>();
            o->algorithm = name;
            sub.add_option("--config", o->config, "YAML run config");
            sub.add_option("overrides", o->overrides, "key=value overrides, e.g. beta=0.2");
            return std::function<int()>([o] { return run(*o); });
          }};
}

Registrar r0(make(kHelp[0][0], kHelp[0][1])), r1(make(kHelp[1][0], kHelp[1][1])), r2(make(kHelp[2][0], kHelp[2][1])),
    r3(make(kHelp[3][0], kHelp[3][1])), r4(make(kHelp[4][0], kHelp[4][1])), r5(make(kHelp[5][0], kHelp[5][1])),
    r6(make(kHelp[6][0], kHelp[6][1]));

}  // namespace
}  // namespace tandem::cli
