// `tandem sft --config run.yaml [key=value ...]`: supervised fine-tuning (train/sft_trainer.h).
#include "cli/command.h"
#include "train/config_fields.h"
#include "train/sft_trainer.h"

namespace tandem::cli {
namespace {

struct Opts {
  std::string config;
  std::vector<std::string> overrides;
};

int run(const Opts& o) {
  train::SftConfig cfg;
  const train::ResolvedConfig r = train::load_run_config(cfg, o.config, o.overrides);
  std::fprintf(stderr, "tandem sft: resolved config\n%s", r.yaml.c_str());
  return train::run_sft(cfg, r.json, r.yaml);
}

Registrar reg({"sft", "supervised fine-tuning (NLL or DFT) from a YAML config with key=value overrides", [](CLI::App& sub) {
                 auto o = std::make_shared<Opts>();
                 sub.add_option("--config", o->config, "YAML run config");
                 sub.add_option("overrides", o->overrides, "key=value overrides, e.g. learning_rate=1e-4");
                 return std::function<int()>([o] { return run(*o); });
               }});

}  // namespace
}  // namespace tandem::cli
