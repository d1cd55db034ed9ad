// Normalizers of tokenizer.json ("normalizer"): NFC/NFD/NFKC/NFKD, Lowercase, Strip, Replace, Prepend,
// BertNormalizer, Sequence. They rewrite one piece of text in place; offsets are not tracked because
// Tandem needs ids, not character alignments.
// Not here: Precompiled/NMT (SentencePiece charsmap) which raise an Error naming the type.
#pragma once
#include <memory>
#include <string>

#include "core/json.h"

namespace tandem::tokenizer {

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  virtual void normalize(std::string& s) const = 0;
};

// j: the "normalizer" value (may be null -> nullptr). where: its JSON path, e.g. "tokenizer.normalizer".
std::unique_ptr<Normalizer> make_normalizer(const Json& j, const std::string& where, const std::string& origin);

// Unicode normalization form by name ("NFC", "NFD", "NFKC", "NFKD").
std::string unicode_normalize(const std::string& s, const std::string& form);

}  // namespace tandem::tokenizer
