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
  auto fields = train::fields_of(cfg);
  if (!o.config.empty()) train::apply_yaml_file(fields, o.config);
  for (size_t i = 0; i < o.overrides.size(); ++i) train::apply_override(fields, o.overrides[i], cat("override ", i + 1));
  cfg.validate();
  const Json resolved = train::fields_to_json(fields);
  const std::string yaml = train::fields_to_yaml(fields);
  std::fprintf(stderr, "tandem sft: resolved config\n%s", yaml.c_str());
  return train::run_sft(cfg, resolved, yaml);
}

Registrar reg({"sft", "supervised fine-tuning (NLL or DFT) from a YAML config with key=value overrides", [](CLI::App& sub) {
                 auto o = std::make_shared<Opts>();
                 sub.add_option("--config", o->config, "YAML run config");
                 sub.add_option("overrides", o->overrides, "key=value overrides, e.g. learning_rate=1e-4");
                 return std::function<int()>([o] { return run(*o); });
               }});

}  // namespace
}  // namespace tandem::cli
