// The word-level models of tokenizer.json ("model"): BPE (bpe.cpp), Unigram (unigram.cpp), WordPiece and
// WordLevel (word_models.cpp).
// A model turns one pre-tokenized word into ids and owns the base vocabulary.
// Not here: added tokens (added_tokens.cpp) and the text pipeline around the model (tokenizer.cpp).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/json.h"

namespace tandem::tokenizer {

// Hash that lets unordered_map<std::string, ...> be probed with a string_view without a copy.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using StringIdMap = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;

// token <-> id of a model's vocabulary. Lookup is an open-addressing table of (hash, id) slots
// checked against to_token, so a probe touches one slot and one string: vocabularies of 100k-260k
// entries are looked up ~1.5M times while loading merges.
class Vocab {
 public:
  std::vector<std::string> to_token;  // "" for ids the vocab does not define

  int32_t find(std::string_view s) const {
    if (slots_.empty()) return -1;
    const uint64_t h = hash(s);
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      const uint64_t v = slots_[i];
      if (v == 0) return -1;
      if ((v >> 32) == (h >> 32) && to_token[uint32_t(v) - 1] == s) return int32_t(uint32_t(v) - 1);
    }
  }
  size_t size() const { return count_; }  // number of entries (the crate's get_vocab_size)
  // Reads {"token": id, ...}; where names the object (e.g. "tokenizer.model.vocab").
  static Vocab from_json(const Json& j, const std::string& where, const std::string& origin);
  // Ids are positions in tokens (Unigram's list form).
  static Vocab from_tokens(const std::vector<std::string>& tokens);

 private:
  static uint64_t hash(std::string_view s) { return std::hash<std::string_view>{}(s) * 0x9E3779B97F4A7C15ull; }
  void insert(std::string_view s, int32_t id);
  std::vector<uint64_t> slots_;  // (hash high 32 bits << 32) | (id + 1); 0 = empty
  size_t mask_ = 0;
  size_t count_ = 0;
};

class Model {
 public:
  virtual ~Model() = default;
  // Appends the ids of one word.
  virtual void tokenize(std::string_view word, std::vector<int32_t>& out) const = 0;
  const Vocab& vocab() const { return vocab_; }

 protected:
  Vocab vocab_;
};

// j: the "model" object; where: "tokenizer.model".
std::unique_ptr<Model> make_model(const Json& j, const std::string& where, const std::string& origin);

std::unique_ptr<Model> make_bpe(const Json& j, const std::string& where, const std::string& origin);
std::unique_ptr<Model> make_unigram(const Json& j, const std::string& where, const std::string& origin);
std::unique_ptr<Model> make_wordpiece(const Json& j, const std::string& where, const std::string& origin);
std::unique_ptr<Model> make_wordlevel(const Json& j, const std::string& where, const std::string& origin);

}  // namespace tandem::tokenizer
