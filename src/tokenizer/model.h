// The word-level models of tokenizer.json ("model"): BPE (bpe.cpp), WordPiece and WordLevel (word_models.cpp).
// A model turns one pre-tokenized word into ids and owns the base vocabulary.
// Not here: added tokens (added_tokens.cpp) and the text pipeline around the model (tokenizer.cpp).
// Unigram is not implemented: loading one raises an Error naming the model type.
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

// token <-> id of a model's vocabulary.
struct Vocab {
  StringIdMap to_id;
  std::vector<std::string> to_token;  // "" for ids the vocab does not define
  int32_t find(std::string_view s) const {
    auto it = to_id.find(s);
    return it == to_id.end() ? -1 : it->second;
  }
  // Reads {"token": id, ...}; where names the object (e.g. "tokenizer.model.vocab").
  static Vocab from_json(const Json& j, const std::string& where, const std::string& origin);
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
std::unique_ptr<Model> make_wordpiece(const Json& j, const std::string& where, const std::string& origin);
std::unique_ptr<Model> make_wordlevel(const Json& j, const std::string& where, const std::string& origin);

}  // namespace tandem::tokenizer
