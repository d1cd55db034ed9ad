// Added tokens of tokenizer.json ("added_tokens"): tokens matched verbatim in the text before the
// model sees it, with the crate's flags special, lstrip, rstrip, normalized and single_word.
// Matching is leftmost-longest over a byte trie, in two passes as in the crate: tokens with
// normalized=false on the raw text, then tokens with normalized=true on each normalized remainder.
// Not here: the model vocabulary (model.h) and special-token policy of post-processing.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "tokenizer/flat_map.h"
#include "tokenizer/model.h"
#include "tokenizer/normalizer.h"

namespace tandem::tokenizer {

struct AddedToken {
  int32_t id = -1;
  std::string content;
  bool special = false, lstrip = false, rstrip = false, normalized = true, single_word = false;
};

// A run of the input: either an added token (id >= 0) or normalized text for the pre-tokenizer.
struct Segment {
  std::string text;
  int32_t id = -1;
  bool at_start = false;  // begins at offset 0 of the user's text
};

class AddedTokens {
 public:
  AddedTokens() = default;
  // j: the "added_tokens" array; normalizer: used on normalized=true contents (may be null).
  // Ids are assigned as the Rust crate assigns them on load, not read from "id": a token already in
  // the model vocab keeps that id, others get the next free id past the vocab (the crate only warns
  // when the file says otherwise, and so do we).
  AddedTokens(const Json& j, const Normalizer* normalizer, const Vocab& vocab, const std::string& where,
              const std::string& origin);
  // Splits text into segments, normalizing the non-token text.
  void split(std::string_view text, const Normalizer* normalizer, std::vector<Segment>& out) const;
  const std::vector<AddedToken>& tokens() const { return tokens_; }
  const AddedToken* by_id(int32_t id) const;
  const AddedToken* by_content(std::string_view s) const;

 private:
  // Trie over token bytes; node 0 is the root. edges_: (node << 8 | byte) -> child.
  struct Trie {
    FlatMap edges;
    std::vector<int32_t> terminal{-1};  // node -> index into tokens_, or -1
    bool first_byte[256] = {};
    void add(std::string_view s, int32_t token_index);
    // Longest token starting at s[i]: returns its index and sets *len, or -1.
    int32_t longest(std::string_view s, size_t i, size_t* len) const;
  };
  void find(std::string_view s, const Trie& trie, bool at_start, bool normalize, const Normalizer* normalizer,
            std::vector<Segment>& out) const;

  std::vector<AddedToken> tokens_;
  FlatMap by_id_;  // id -> index into tokens_
  StringIdMap by_content_;  // content -> index into tokens_
  Trie raw_, normalized_;
};

}  // namespace tandem::tokenizer
