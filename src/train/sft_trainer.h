// `tandem sft`: supervised fine-tuning of an HF model folder on JSONL data, on the shared loop of
// train/trainer.h. The loss is the token-mean NLL (or DFT) over the trained tokens of the whole
// accumulated batch: the denominator counts every micro-batch of the step before any backward,
// so k micro-batches give the update of one batch k times larger.
#pragma once
#include "core/json.h"
#include "train/sft_config.h"

namespace tandem::train {

// Runs the whole job; resolved_config is what config.yaml and checkpoints record. Returns the
// process exit code (0 also when stopped by SIGINT/SIGTERM after saving a checkpoint).
int run_sft(const SftConfig& cfg, const Json& resolved_config, const std::string& resolved_yaml);

}  // namespace tandem::train
