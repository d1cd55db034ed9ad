// The vocabulary reader, the model factory and the two simple models: WordPiece (greedy longest
// match with a continuation prefix, BERT) and WordLevel (whole-word lookup). BPE is in bpe.cpp.
#include "tokenizer/component_json.h"
#include "tokenizer/model.h"
#include "tokenizer/unicode.h"

namespace tandem::tokenizer {

void Vocab::insert(std::string_view s, int32_t id) {
  const uint64_t h = hash(s);
  for (size_t i = h & mask_;; i = (i + 1) & mask_) {
    if (slots_[i] == 0) {
      slots_[i] = (h & 0xFFFFFFFF00000000ull) | uint64_t(uint32_t(id) + 1);
      return;
    }
  }
}

Vocab Vocab::from_json(const Json& j, const std::string& where, const std::string& origin) {
  if (!j.is_object()) throw Error(where, cat("expected an object {token: id}, got ", json_type_name(j), " (", origin, ")"));
  Vocab v;
  std::vector<std::pair<const std::string*, int32_t>> entries;
  entries.reserve(j.size());
  int64_t max_id = -1;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (!it->is_number_integer() || it->get<int64_t>() < 0 || it->get<int64_t>() >= INT32_MAX)
      throw Error(where + "." + it.key(), cat("expected a non-negative integer id, got ", it->dump(), " (", origin, ")"));
    const int64_t id = it->get<int64_t>();
    entries.emplace_back(&it.key(), int32_t(id));
    max_id = std::max(max_id, id);
  }
  // id -> token is a dense table: a few huge ids in a tiny file must not allocate gigabytes (fuzz
  // tokenizer_json: {"a": 155555581} asked for 5 GB). Real vocabularies are dense (ids 0..n-1).
  const int64_t unused = max_id + 1 - int64_t(entries.size());
  if (unused > std::max<int64_t>(int64_t(entries.size()), 65536))
    throw Error(where, cat("ids run up to ", max_id, " for ", entries.size(), " tokens: more than half of the id range ",
                           "(and over 65,536 ids) would be unused; expected ids 0..n-1 (", origin, ")"));
  v.to_token.assign(size_t(max_id + 1), std::string());
  size_t cap = 16;
  while (cap < entries.size() * 2) cap <<= 1;
  v.slots_.assign(cap, 0);
  v.mask_ = cap - 1;
  v.count_ = entries.size();
  for (const auto& [tok, id] : entries) {
    // Two tokens sharing one id (malformed file): the later one owns the id in both directions.
    v.to_token[size_t(id)] = *tok;
    v.insert(*tok, id);
  }
  return v;
}

Vocab Vocab::from_tokens(const std::vector<std::string>& tokens) {
  Vocab v;
  v.to_token = tokens;
  size_t cap = 16;
  while (cap < tokens.size() * 2) cap <<= 1;
  v.slots_.assign(cap, 0);
  v.mask_ = cap - 1;
  v.count_ = tokens.size();
  for (size_t id = 0; id < tokens.size(); ++id) v.insert(tokens[id], int32_t(id));
  return v;
}

namespace {

class WordPiece : public Model {
 public:
  WordPiece(const Json& j, const std::string& where, const std::string& origin) {
    vocab_ = Vocab::from_json(json_field(j, "vocab", where, origin), where + ".vocab", origin);
    prefix_ = json_string_or(j, "continuing_subword_prefix", "##", where, origin);
    max_chars_ = size_t(json_int_or(j, "max_input_chars_per_word", 100, where, origin));
    const std::string unk = json_string_or(j, "unk_token", "[UNK]", where, origin);
    unk_id_ = vocab_.find(unk);
    if (unk_id_ < 0)
      throw Error(where + ".unk_token", cat("token \"", unk, "\" is not in ", where, ".vocab (", origin, ")"));
  }
  void tokenize(std::string_view w, std::vector<int32_t>& out) const override {
    size_t chars = 0;
    for (size_t i = 0; i < w.size(); i += utf8_len(static_cast<unsigned char>(w[i]))) ++chars;
    if (chars > max_chars_) {
      out.push_back(unk_id_);
      return;
    }
    const size_t start_size = out.size();
    std::string probe;
    for (size_t start = 0; start < w.size();) {
      size_t end = w.size();
      int32_t found = -1;
      while (end > start) {
        probe.assign(start > 0 ? prefix_ : std::string());
        probe.append(w.substr(start, end - start));
        found = vocab_.find(probe);
        if (found >= 0) break;
        // Step back one whole character.
        do --end;
        while (end > start && (static_cast<unsigned char>(w[end]) & 0xC0) == 0x80);
      }
      if (found < 0) {  // one unmatched piece makes the whole word unknown
        out.resize(start_size);
        out.push_back(unk_id_);
        return;
      }
      out.push_back(found);
      start = end;
    }
  }

 private:
  std::string prefix_;
  size_t max_chars_ = 100;
  int32_t unk_id_ = -1;
};

class WordLevel : public Model {
 public:
  WordLevel(const Json& j, const std::string& where, const std::string& origin) {
    vocab_ = Vocab::from_json(json_field(j, "vocab", where, origin), where + ".vocab", origin);
    const std::string unk = json_string_or(j, "unk_token", "", where, origin);
    unk_id_ = unk.empty() ? -1 : vocab_.find(unk);
    if (!unk.empty() && unk_id_ < 0)
      throw Error(where + ".unk_token", cat("token \"", unk, "\" is not in ", where, ".vocab (", origin, ")"));
  }
  void tokenize(std::string_view w, std::vector<int32_t>& out) const override {
    const int32_t id = vocab_.find(w);
    if (id >= 0) out.push_back(id);
    else if (unk_id_ >= 0) out.push_back(unk_id_);
    else throw Error("tokenizer.model", cat("word \"", w, "\" is not in the WordLevel vocab and there is no unk_token"));
  }

 private:
  int32_t unk_id_ = -1;
};

}  // namespace

std::unique_ptr<Model> make_wordpiece(const Json& j, const std::string& where, const std::string& origin) {
  return std::make_unique<WordPiece>(j, where, origin);
}
std::unique_ptr<Model> make_wordlevel(const Json& j, const std::string& where, const std::string& origin) {
  return std::make_unique<WordLevel>(j, where, origin);
}

std::unique_ptr<Model> make_model(const Json& j, const std::string& where, const std::string& origin) {
  if (!j.is_object()) throw Error(where, cat("expected an object, got ", json_type_name(j), " (", origin, ")"));
  // Old files omit the type; a model with merges is BPE.
  const std::string type = j.contains("type") ? json_string(j, "type", where, origin)
                           : j.contains("merges") ? "BPE"
                                                  : "";
  if (type == "BPE") return make_bpe(j, where, origin);
  if (type == "WordPiece") return make_wordpiece(j, where, origin);
  if (type == "WordLevel") return make_wordlevel(j, where, origin);
  if (type == "Unigram") return make_unigram(j, where, origin);
  throw Error(where + ".type",
              cat("unknown model type, expected one of BPE, Unigram, WordPiece, WordLevel, got \"", type, "\" (", origin, ")"));
}

}  // namespace tandem::tokenizer
