// tokenizer_config.json: the transformers-side settings of a tokenizer (add_bos_token, add_eos_token,
// bos/eos/pad/unk token strings, model_max_length). The raw JSON stays available so that other parts
// (chat templates) can read fields such as chat_template without a second parse.
// Not here: tokenizer.json (tokenizer.cpp); rendering chat templates.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "core/json.h"

namespace tandem::tokenizer {

struct TokenizerConfig {
  Json raw = Json::object();
  std::string origin;  // the file it came from, "" when absent
  std::optional<bool> add_bos_token, add_eos_token;
  // Token strings; "" when absent or null. Accepts "tok" or {"content": "tok", ...}.
  std::string bos_token, eos_token, pad_token, unk_token;
  // nullopt when absent or effectively unbounded (transformers writes 1e30 for "no limit").
  std::optional<int64_t> model_max_length;

  static TokenizerConfig from_json(const Json& j, const std::string& origin);
  // Missing file -> empty config (a folder may ship only tokenizer.json).
  static TokenizerConfig from_file(const std::string& path);
};

}  // namespace tandem::tokenizer
