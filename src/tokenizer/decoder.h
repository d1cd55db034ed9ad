// Decoders of tokenizer.json ("decoder"): ByteLevel, Metaspace, ByteFallback, Fuse, Strip, Replace,
// WordPiece, BPEDecoder, Sequence. A decoder maps the token strings of ids back to text chunks,
// which the tokenizer concatenates. Semantics follow the Rust crate's decode_chain, including its
// lossy UTF-8 handling (invalid bytes become U+FFFD).
// Not here: skipping special tokens and streaming (tokenizer.cpp).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "core/json.h"

namespace tandem::tokenizer {

class Decoder {
 public:
  virtual ~Decoder() = default;
  virtual void decode_chain(std::vector<std::string>& tokens) const = 0;
};

std::unique_ptr<Decoder> make_decoder(const Json& j, const std::string& where, const std::string& origin);

}  // namespace tandem::tokenizer
