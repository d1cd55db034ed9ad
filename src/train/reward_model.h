// Reward models as transformers stores them: a decoder whose LM head is replaced by a scalar head,
// config.json `architectures: [<Family>ForSequenceClassification]`, `num_labels: 1`, the head as
// `score.weight` [1, hidden] (no bias) and no lm_head.weight. Starting from a causal-LM folder, the
// trunk is copied and the head drawn from N(0, initializer_range²) as transformers' _init_weights does.
// Not here: the training loss (objective/rm.cpp), where the score is read (pref_collate.h).
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "model/decoder.h"

namespace tandem::train {

// The sequence-classification config of a causal-LM config (unchanged when it already is one).
// pad_token_id is set to the first eos id when absent: transformers needs it to find the last
// non-padding token of a batch.
model::ModelConfig sequence_classification_config(const model::ModelConfig& causal);

// Loads dir as a reward model: a *ForSequenceClassification folder as it is, a *ForCausalLM folder
// with a fresh score head (seeded).
std::unique_ptr<model::Decoder> load_reward_model(const std::string& dir, uint64_t seed);

}  // namespace tandem::train
