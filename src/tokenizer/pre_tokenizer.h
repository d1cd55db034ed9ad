// Pre-tokenizers of tokenizer.json ("pre_tokenizer"): ByteLevel, Split, Metaspace, Digits, Punctuation,
// Whitespace, WhitespaceSplit, BertPreTokenizer, Sequence. Each cuts pieces of text into smaller
// pieces (words) that the model then tokenizes one by one.
// Not here: added-token extraction (added_tokens.cpp), which runs before normalization.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "core/json.h"

namespace tandem::tokenizer {

struct Piece {
  std::string text;
  // The piece begins at offset 0 of the user's text (Metaspace's prepend_scheme "first" needs it).
  bool at_start = false;
};

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  // Replaces pieces by their sub-pieces, in order; empty pieces are dropped.
  virtual void pre_tokenize(std::vector<Piece>& pieces) const = 0;
};

std::unique_ptr<PreTokenizer> make_pre_tokenizer(const Json& j, const std::string& where, const std::string& origin);

// Maps every byte of s to its GPT-2 byte-level character (appended to out).
void byte_level_encode(std::string_view s, std::string& out);

}  // namespace tandem::tokenizer
