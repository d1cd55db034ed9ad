// The token ids that end a sample unless the caller says otherwise: the model's eos ids
// (config.json), those of generation_config.json, and the tokenizer's eos token. Chat models often
// disagree between these files (a base config.json names <|endoftext|> while generation_config.json
// adds <|im_end|>), and a chat-templated prompt must stop at the end of its turn, so `tandem generate`,
// online RL and evaluation all stop at the union, as transformers' generate() does.
// Not here: stop strings (stop_strings.h), which need decoded text.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "model/config.h"
#include "tokenizer/tokenizer.h"

namespace tandem::rollout {

// tok: the folder's tokenizer when the caller has it loaded; nullptr loads model_dir/tokenizer.json
// when there is one. Ids outside the vocabulary are an Error naming the file; duplicates are dropped.
std::vector<int32_t> default_stop_ids(const std::string& model_dir, const model::ModelConfig& cfg,
                                      const tokenizer::Tokenizer* tok = nullptr);

}  // namespace tandem::rollout
