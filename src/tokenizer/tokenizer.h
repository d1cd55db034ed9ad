// The tokenizer facade: loads tokenizer.json (+ tokenizer_config.json from a model folder) and runs
// the Hugging Face pipeline: added tokens -> normalizer -> pre-tokenizer -> model -> post-processor,
// and back through the decoder. Ids match the Rust `tokenizers` crate (tests compare against it).
// Special tokens: encode(text, true) adds what tokenizer.json's post_processor adds. add_bos_token /
// add_eos_token of tokenizer_config.json are exposed in config() but do not rewrite the post-processor
// (the Rust crate does not either; transformers' slow-tokenizer shims do for some classes).
// Not here: chat templates; truncation and padding (the data layer owns them); offsets.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "tokenizer/tokenizer_config.h"

namespace tandem::tokenizer {

class Tokenizer {
 public:
  // dir holds tokenizer.json and optionally tokenizer_config.json.
  static Tokenizer from_dir(const std::string& dir);
  static Tokenizer from_file(const std::string& tokenizer_json_path);
  // j: a parsed tokenizer.json; origin names it in errors.
  static Tokenizer from_json(const Json& j, const std::string& origin, TokenizerConfig config = {});

  std::vector<int32_t> encode(std::string_view text, bool add_special = true) const;
  // Encodes texts in parallel with OpenMP (threads: 0 = the OpenMP default).
  std::vector<std::vector<int32_t>> encode_batch(const std::vector<std::string>& texts, bool add_special = true,
                                                 int threads = 0) const;
  // Ids outside the vocabulary are skipped, as the Rust crate does (models pad their embedding rows).
  std::string decode(std::span<const int32_t> ids, bool skip_special = false) const;

  // -1 when absent. Added tokens take precedence over the model vocabulary.
  int32_t token_to_id(std::string_view token) const;
  std::optional<std::string> id_to_token(int32_t id) const;
  bool is_special(int32_t id) const;
  // One past the largest id (model vocabulary and added tokens).
  size_t vocab_size() const;

  // Ids of the tokenizer_config.json tokens, -1 when unset or unknown.
  int32_t bos_id() const { return token_to_id_or_none(config().bos_token); }
  int32_t eos_id() const { return token_to_id_or_none(config().eos_token); }
  int32_t pad_id() const { return token_to_id_or_none(config().pad_token); }
  int32_t unk_id() const { return token_to_id_or_none(config().unk_token); }
  const TokenizerConfig& config() const;

  struct Impl;

 private:
  explicit Tokenizer(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  int32_t token_to_id_or_none(const std::string& s) const { return s.empty() ? -1 : token_to_id(s); }
  std::shared_ptr<const Impl> impl_;
};

// Incremental decoding for generation: step(id) returns the text that id completes, never half a
// UTF-8 character (a chunk that would end in U+FFFD is held back until later ids complete it).
// Keeps a few ids of left context so decoders that treat the first token specially (Metaspace,
// Strip) give the same text as one decode of the whole sequence.
class StreamDecoder {
 public:
  explicit StreamDecoder(const Tokenizer& tok, bool skip_special = false) : tok_(tok), skip_special_(skip_special) {}
  std::string step(int32_t id);
  // Returns whatever is still held back (may contain U+FFFD if the ids ended mid-character).
  std::string flush();

 private:
  const Tokenizer& tok_;
  bool skip_special_;
  std::vector<int32_t> ids_;
  std::string prefix_;
  size_t prefix_index_ = 0;
};

}  // namespace tandem::tokenizer
