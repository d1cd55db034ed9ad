// The dataset shapes of formats.md (after data/source.h has named the columns canonically),
// turned into the example structs of data/example.h with their loss masks:
//   sft         text | messages (+ tools) | prompt + completion (strings or message lists)
//               | input_ids (+ completion_mask | assistant_masks) | prompt_input_ids + completion_input_ids
//   preference  prompt + chosen + rejected | chosen + rejected (implicit prompt: their common
//               prefix) | prompt_input_ids + chosen_input_ids + rejected_input_ids; optional margin
//   unpaired    prompt + completion + label | prompt_input_ids + completion_input_ids + label
//   prompt      prompt (string or messages) | prompt_input_ids | input_ids (the online trainer's
//               pre-tokenized shape), every other column kept, and a demonstration from completion
//               (or a string solution), or completion_input_ids / demonstration_ids, when present
// Masks: conversations train every token, or with assistant_only_loss the assistant turns (all or
// the last); prompt-completion trains the completion (completion_only_loss) or everything;
// preference / unpaired / RL prompts never train the prompt. Strings are encoded with the
// tokenizer's special tokens (BOS) before the prompt and EOS after a completion; rendered
// templates are encoded without them (the template writes them), as apply_chat_template does.
// Not here: files and sources (data/dataset.h), template mechanics (data/chat_render.h).
#pragma once
#include <optional>

#include "data/chat_render.h"
#include "data/truncation.h"

namespace tandem::data {

struct ShapeOptions {
  int64_t max_length = 1024;
  int64_t max_prompt_length = 0;  // > 0: prompts of pairs, unpaired examples and RL prompts lose their start beyond it
  Truncation truncation = Truncation::kTruncate;
  bool assistant_only_loss = false;
  bool last_assistant_only = false;  // assistant_turns: last
  bool completion_only_loss = true;
};

// nullopt: dropped by truncation (counted in stats). BadLine: the line is not a valid example.
std::optional<SftExample> read_sft(const OrderedJson& line, const ChatRenderer& r, const ShapeOptions& opt,
                                   const Origin& o, DataStats& stats);
std::optional<PreferenceExample> read_preference(const OrderedJson& line, const ChatRenderer& r,
                                                 const ShapeOptions& opt, const Origin& o, DataStats& stats);
std::optional<UnpairedExample> read_unpaired(const OrderedJson& line, const ChatRenderer& r, const ShapeOptions& opt,
                                             const Origin& o, DataStats& stats);
std::optional<PromptExample> read_prompt(const OrderedJson& line, const ChatRenderer& r, const ShapeOptions& opt,
                                         const Origin& o, DataStats& stats);

// The token ids of line[key]: a list of integers in [0, 2^31), at least min_len of them.
std::vector<int32_t> read_ids(const OrderedJson& line, const std::string& key, const Origin& o, size_t min_len);

}  // namespace tandem::data
