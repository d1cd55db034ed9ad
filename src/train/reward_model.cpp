#include "train/reward_model.h"

#include <cstring>

#include "core/error.h"
#include "core/file.h"
#include "core/log.h"
#include "core/rng.h"

namespace tandem::train {

model::ModelConfig sequence_classification_config(const model::ModelConfig& causal) {
  if (causal.sequence_classification) return causal;
  model::ModelConfig c = causal;
  const std::string suffix = "ForCausalLM";
  const std::string& a = causal.architecture;
  TD_ASSERT(a.size() > suffix.size() && a.compare(a.size() - suffix.size(), suffix.size(), suffix) == 0, "architecture ", a);
  c.architecture = a.substr(0, a.size() - suffix.size()) + "ForSequenceClassification";
  c.sequence_classification = true;
  c.num_labels = 1;
  if (c.pad_token_id < 0 && !c.eos_token_ids.empty()) c.pad_token_id = c.eos_token_ids[0];
  if (c.pad_token_id >= 0) c.raw["pad_token_id"] = c.pad_token_id;
  // An untied causal LM's lm_head is dropped; tie_word_embeddings no longer has a head to tie.
  return c;
}

std::unique_ptr<model::Decoder> load_reward_model(const std::string& dir, uint64_t seed) {
  const auto cfg = model::ModelConfig::load(join_path(dir, "config.json"));
  if (cfg.sequence_classification) return model::Decoder::load(dir);
  auto base = model::Decoder::load(dir);
  auto rm = std::make_unique<model::Decoder>(sequence_classification_config(cfg));
  for (const auto& np : rm->weights().named) {
    if (np.name == "score.weight") continue;
    const model::NamedParam* src = base->weights().find(np.name);
    TD_ASSERT(src && src->tensor.numel() == np.tensor.numel(), "tensor ", np.name);
    std::memcpy(np.tensor.f32(), src->tensor.f32(), size_t(np.tensor.numel()) * sizeof(float));
  }
  const double range = cfg.raw.is_object() && cfg.raw.contains("initializer_range") && cfg.raw["initializer_range"].is_number()
                           ? cfg.raw["initializer_range"].get<double>()
                           : 0.02;
  Tensor& score = rm->weights().score;
  const Rng rng(seed, 0x73636f7265);  // "score"
  for (int64_t j = 0; j < score.numel(); ++j) score.f32()[j] = float(range) * rng.normal(uint64_t(j));
  log_info("reward model: ", cfg.architecture, " trunk from ", dir, " with a new score head (N(0, ", range, "^2), seed ", seed, ")");
  return rm;
}

}  // namespace tandem::train
