// The examples the data layer hands to trainers, one struct per kind of training signal. They carry
// token ids only (text is rendered and tokenized below this point) plus where they came from, so a
// trainer never needs to know which JSONL shape or chat template produced them.
// Not here: reading files, templates, masks (see the data layer's readers), collation into engine
// batches (model/batch.h) and packing.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/json.h"

namespace tandem::data {

// Where an example came from, for messages: "file:line".
struct Origin {
  std::string file;
  int64_t line = 0;
  std::string str() const { return file + ":" + std::to_string(line); }
};

// A token sequence and the tokens the loss reads. trained[t] = 1 means the log-prob of ids[t]
// (predicted from ids[0..t-1]) enters the loss; trained[0] is always 0.
struct TokenSeq {
  std::vector<int32_t> ids;
  std::vector<uint8_t> trained;
};

// sft / rft / dft: one sequence with its loss mask.
struct SftExample {
  TokenSeq seq;
  Origin origin;
};

// dpo family and rm: a shared prompt and two completions. The completions hold only the tokens
// after the prompt (including the end-of-turn token); the prompt is never trained on.
struct PreferenceExample {
  std::vector<int32_t> prompt, chosen, rejected;
  double margin = 0;  // rm: optional per-pair margin column, 0 when absent
  Origin origin;
};

// kto: a prompt, one completion and whether it is desirable.
struct UnpairedExample {
  std::vector<int32_t> prompt, completion;
  bool label = true;
  Origin origin;
};

// Online RL: a prompt to sample from (already rendered with the chat template when it was a message
// list, generation prompt included), every other column of the line handed on unchanged to reward
// functions, and an optional demonstration (completion tokens only) for the hybrids.
struct PromptExample {
  std::vector<int32_t> prompt;
  std::string prompt_text;                 // the rendered prompt, what reward functions see
  Json columns = Json::object();           // the line's other columns (answer, solution, tests, ...)
  std::vector<int32_t> demonstration;      // empty when the line has none
  std::string demonstration_text;
  Origin origin;
};

}  // namespace tandem::data
